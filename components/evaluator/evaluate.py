"""GAP@20, Hit@1, PERR and MAP of every stage on hard labels, joined by video id."""
import logging

import numpy as np

from components import artifact_properties, splits
from models import metrics
from schemas import predictions as rows
from common.errors import InvalidInputError

log = logging.getLogger("y8m.evaluator")

TOP_K = 20


def evaluation_labels(examples, num_folds: int) -> dict[str, dict]:
    """Hard labels per evaluation split; `test` only when the test files carry labels."""
    labels = {splits.OOF: splits.labels_by_id(examples, splits.fold_split_names(num_folds)),
              splits.HOLDOUT: splits.labels_by_id(examples, [splits.HOLDOUT])}
    test = splits.labels_by_id(examples, [splits.TEST])
    if any(len(video_labels) for video_labels in test.values()):
        labels[splits.TEST] = test
    return labels


def read_top_k(artifact, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """video id → the top 20 (class ids, scores) of one prediction split."""
    top = {}
    for serialized in splits.read_split_records(artifact, split):
        row = rows.decode_prediction(serialized)
        top[row.video_id] = rows.top_k_of(row, TOP_K)
    return top


def aligned(name: str, split: str, top: dict, labels: dict):
    """(class ids, scores, labels) of the labelled videos, joined by video id."""
    missing = [video_id for video_id in labels if video_id not in top]
    if missing:
        raise InvalidInputError(f"{name}: {len(missing)} videos of split '{split}' have no prediction, "
                                f"e.g. {missing[:5]}")
    ids = list(labels)
    class_ids = np.stack([_padded(top[video_id][0], -1) for video_id in ids])
    scores = np.stack([_padded(top[video_id][1], -np.inf) for video_id in ids])
    return class_ids, scores, [labels[video_id] for video_id in ids]


def score_split(name: str, split: str, top: dict, labels: dict, num_classes: int) -> dict:
    return metrics.evaluate(*aligned(name, split, top, labels), num_classes)


def per_class_ap(artifact, holdout_labels: dict, num_classes: int) -> np.ndarray:
    """Each class's AP on the held-out split."""
    top = read_top_k(artifact, splits.HOLDOUT)
    return metrics.per_class_ap(*aligned(artifact_properties.model_name(artifact), splits.HOLDOUT,
                                         top, holdout_labels), num_classes)


def _padded(values: np.ndarray, fill) -> np.ndarray:
    """Rows with fewer than TOP_K pairs (a sparse stack row) are padded with no-label pairs."""
    return np.concatenate([values, np.full(TOP_K - len(values), fill, values.dtype)])


def stage_metrics(name: str, kind: str, artifact, labels: dict[str, dict], num_classes: int) -> list[dict]:
    """Scores of every labelled split of the artifact; never out-of-fold for a model whose
    targets came from the stack (its teachers saw those folds)."""
    leaky = artifact.has_custom_property(artifact_properties.SOFT_LABEL_WEIGHT)
    stages = []
    for split in splits.split_names(artifact):
        if split not in labels or (leaky and split == splits.OOF):
            continue
        result = score_split(name, split, read_top_k(artifact, split), labels[split], num_classes)
        stages.append({"name": name, "kind": kind, "split": split, **result})
        log.info("%s on %s: GAP %.4f (%d videos)", name, split, result["gap"], result["videos"])
    return stages


def blessing_decision(stages: list[dict], min_gap_ratio: float) -> tuple[bool, str]:
    """The student is blessed when its held-out GAP reaches min_gap_ratio × the best L1's."""
    holdout = [s for s in stages if s["split"] == splits.HOLDOUT]
    student = next(s["gap"] for s in holdout if s["kind"] == "student")
    best_l1 = max(s["gap"] for s in holdout if s["kind"] == "l1")
    blessed = student >= min_gap_ratio * best_l1
    return blessed, (f"student held-out GAP {student:.4f} {'>=' if blessed else '<'} "
                     f"{min_gap_ratio} x best L1 held-out GAP {best_l1:.4f}")
