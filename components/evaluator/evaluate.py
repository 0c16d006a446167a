"""GAP@20, Hit@1, PERR and MAP of every stage on hard labels, joined by video id.

Held per split: the labels of its videos as a compact index (`LabelIndex`: sorted ids,
labels in CSR form, about 30 bytes a video), and, while a stage is scored, its judged
top-20 pairs (`metrics.PooledEvaluation`, about 200 bytes a video). Predictions stream
in batches of BATCH_ROWS rows, each parsed in one `tf.io.parse_example` and its top 20
chosen for the whole batch at once; nothing else grows with the number of videos.
"""
import json
import logging
import os
from typing import Iterable, Iterator, NamedTuple

import numpy as np

from components import artifact_properties
from components.evaluator import report
from models import data, metrics
from schemas import predictions as rows
from common.errors import InvalidInputError
from schemas import splits

log = logging.getLogger("y8m.evaluator")

METRICS_FILE = "metrics.json"

TOP_K = 20
# Prediction rows per step of the reader, per parse and per top-20 choice.
BATCH_ROWS = splits.READ_BATCH


class LabelIndex(NamedTuple):
    """The hard labels of a set of videos: ids sorted (fixed-width bytes), the labels of
    the video at position i in `labels[offsets[i]:offsets[i + 1]]`."""
    ids: np.ndarray
    offsets: np.ndarray  # int64, one more than the videos
    labels: np.ndarray  # int32

    def __len__(self) -> int:
        return self.ids.size

    def positions(self, video_ids: np.ndarray) -> np.ndarray:
        """Each id's position in the index; -1 for an id not in it."""
        if not len(self):
            return np.full(video_ids.size, -1)
        found = np.minimum(np.searchsorted(self.ids, video_ids), len(self) - 1)
        return np.where(self.ids[found] == video_ids, found, -1)

    def labels_at(self, positions: np.ndarray) -> list[np.ndarray]:
        return [self.labels[self.offsets[p]:self.offsets[p + 1]] for p in positions]

    def class_frequency(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)


def label_index(examples, names: list[str]) -> LabelIndex:
    """The hard labels of the videos of the splits `names` of a video-level artifact."""
    ids, counts, labels = [], [], []
    for batch in data.read_batches([splits.split_files_pattern(examples, name) for name in names]):
        ids.append(batch[data.IDS].numpy())
        counts.append(batch[data.LABELS].row_lengths().numpy())
        labels.append(batch[data.LABELS].values.numpy())
    return _indexed(ids, counts, labels, f"the splits {names}")


def label_index_of(labels_by_id: dict) -> LabelIndex:
    """The index of a mapping video id → hard labels."""
    return _indexed([np.array([video_id.encode() for video_id in labels_by_id], object)],
                    [np.array([len(labels) for labels in labels_by_id.values()], np.int64)],
                    [np.concatenate([np.zeros(0, np.int64), *labels_by_id.values()])], "the labels")


def _indexed(ids: list, counts: list, labels: list, where: str) -> LabelIndex:
    """The index of videos given in parts: ids, label counts and labels in video order."""
    if not ids:
        return LabelIndex(np.zeros(0, "S1"), np.zeros(1, np.int64), np.zeros(0, np.int32))
    ids, counts = np.concatenate(ids).astype(np.bytes_), np.concatenate(counts)
    labels = np.concatenate(labels).astype(np.int32)
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    repeated = ids[1:][ids[1:] == ids[:-1]]
    if repeated.size:
        raise InvalidInputError(f"video '{repeated[0].decode()}' occurs more than once in {where}")
    starts = np.cumsum(counts) - counts
    counts = counts[order]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # Each sorted video's labels, gathered from where its record put them.
    gather = np.repeat(starts[order] - offsets[:-1], counts) + np.arange(offsets[-1])
    return LabelIndex(ids, offsets, labels[gather])


def evaluation_labels(examples, num_folds: int) -> dict[str, LabelIndex]:
    """Hard labels per evaluation split; `test` only when the test files carry labels."""
    labels = {splits.OOF: label_index(examples, splits.fold_split_names(num_folds)),
              splits.HOLDOUT: label_index(examples, [splits.HOLDOUT])}
    test = label_index(examples, [splits.TEST])
    if test.labels.size:
        labels[splits.TEST] = test
    return labels


class TopK(NamedTuple):
    """The top 20 of a batch of prediction rows, best first, ties to the lower class id;
    a row of fewer than TOP_K pairs (a sparse stack row) padded with no-label pairs."""
    video_ids: np.ndarray  # bytes
    class_ids: np.ndarray  # [b, TOP_K] int64, -1 in padding
    scores: np.ndarray  # [b, TOP_K] float32, -inf in padding


def read_top_k(artifact, split: str) -> Iterator[TopK]:
    """The top 20 of each row of one prediction split, a batch of BATCH_ROWS rows at a time."""
    for batch in splits.read_split_batches(artifact, split, BATCH_ROWS):
        yield top_k_of_batch(batch)


def top_k_rows(batches: Iterable[TopK]) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """(video id, class ids, scores) of each row of the batches, padding kept (the
    submission writer leaves out negative class ids)."""
    for batch in batches:
        for video_id, class_ids, scores in zip(batch.video_ids, batch.class_ids, batch.scores):
            yield video_id.decode(), class_ids, scores


def top_k_of_batch(serialized) -> TopK:
    """The top 20 of each of a batch of serialized prediction rows, dense or sparse, the
    same pairs as `rows.top_k_of` gives row by row."""
    video_ids, raw_scores, raw_class_ids = rows.parse_prediction_batch(serialized)
    class_ids = np.full((len(video_ids), TOP_K), -1, np.int64)
    scores = np.full((len(video_ids), TOP_K), -np.inf, np.float32)
    dense = np.array([not value for value in raw_class_ids], bool)
    sparse = ~dense
    for positions, top in ((np.flatnonzero(dense), _dense_top_k(raw_scores[dense])),
                           (np.flatnonzero(sparse),
                            _sparse_top_k(video_ids[sparse], raw_scores[sparse], raw_class_ids[sparse]))):
        width = top[0].shape[1]
        class_ids[positions, :width], scores[positions, :width] = top
    return TopK(np.array(video_ids.tolist(), np.bytes_), class_ids, scores)


def _dense_top_k(raw_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class ids, scores) [b, min(TOP_K, C)] of dense rows: `metrics.top_k` over the batch
    as one array; a batch with rows of different lengths, or with NaN (which
    `metrics.top_k` refuses, and `rows.top_k_of` ranks last), row by row."""
    lengths = np.array([len(value) for value in raw_scores], np.int64)
    if not lengths.size:
        return np.zeros((0, TOP_K), np.int64), np.zeros((0, TOP_K), np.float32)
    if (lengths != lengths[0]).any() or not lengths[0]:
        return _row_by_row_top_k(raw_scores, [None] * len(raw_scores))
    matrix = np.frombuffer(b"".join(raw_scores), rows.FLOATS).reshape(len(raw_scores), -1)
    with_nan = np.isnan(matrix).any(axis=1)
    if with_nan.any():
        return _row_by_row_top_k(raw_scores, [None] * len(raw_scores))
    class_ids, scores = metrics.top_k(matrix, TOP_K)
    return class_ids, scores.astype(np.float32)


def _sparse_top_k(video_ids: np.ndarray, raw_scores: np.ndarray,
                  raw_class_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class ids, scores) [b, TOP_K] of sparse rows (padded where a row has fewer pairs):
    the rows side by side, padded with NaN scores of a class id above every other, sorted
    by (score descending, class id) along each row in one `np.lexsort`, as `rows.top_k_of`
    sorts one (NaN last)."""
    sparse = rows.sparse_rows_of(video_ids, raw_scores, raw_class_ids, "prediction rows")
    width = max(TOP_K, int(sparse.lengths.max(initial=0)))
    inside = np.arange(width) < sparse.lengths[:, None]
    scores = np.full(inside.shape, np.nan, np.float32)
    class_ids = np.full(inside.shape, np.iinfo(np.int64).max, np.int64)
    scores[inside], class_ids[inside] = sparse.scores, sparse.class_ids
    order = np.lexsort((class_ids, -scores), axis=1)[:, :TOP_K]
    kept = np.take_along_axis(inside, order, axis=1)
    return (np.where(kept, np.take_along_axis(class_ids, order, axis=1), -1),
            np.where(kept, np.take_along_axis(scores, order, axis=1), -np.inf))


def _row_by_row_top_k(raw_scores, raw_class_ids) -> tuple[np.ndarray, np.ndarray]:
    """`rows.top_k_of` of each row, padded to TOP_K pairs."""
    class_ids = np.full((len(raw_scores), TOP_K), -1, np.int64)
    scores = np.full((len(raw_scores), TOP_K), -np.inf, np.float32)
    for position, (raw, raw_ids) in enumerate(zip(raw_scores, raw_class_ids)):
        row = rows.PredictionRow("", None if raw_ids is None else np.frombuffer(raw_ids, rows.INTS).astype(np.int64),
                                 np.frombuffer(raw, rows.FLOATS).astype(np.float32))
        top_ids, top_scores = rows.top_k_of(row, TOP_K)
        class_ids[position, :top_ids.size], scores[position, :top_scores.size] = top_ids, top_scores
    return class_ids, scores


def pooled_split(name: str, split: str, batches: Iterable[TopK], labels: LabelIndex) -> metrics.PooledEvaluation:
    """Every labelled video's top 20 judged against its labels, joined by video id a batch
    at a time; predictions of other videos are left out. Every labelled video must have
    exactly one prediction."""
    pooled, seen = metrics.PooledEvaluation(), np.zeros(len(labels), bool)
    for batch in batches:
        positions = labels.positions(batch.video_ids)
        kept = np.flatnonzero(positions >= 0)
        positions = positions[kept]
        if seen[positions].any() or np.unique(positions).size < positions.size:
            raise InvalidInputError(f"{name}: a video of split '{split}' has more than one prediction")
        seen[positions] = True
        pooled.add(batch.class_ids[kept], batch.scores[kept], labels.labels_at(positions))
    if not seen.all():
        missing = [video_id.decode() for video_id in labels.ids[~seen][:5]]
        raise InvalidInputError(f"{name}: {int((~seen).sum())} videos of split '{split}' have no prediction, "
                                f"e.g. {missing}")
    return pooled


def score_split(name: str, split: str, batches: Iterable[TopK], labels: LabelIndex, num_classes: int) -> dict:
    return pooled_split(name, split, batches, labels).evaluate(num_classes)


def per_class_ap(artifact, holdout_labels: LabelIndex, num_classes: int) -> np.ndarray:
    """Each class's AP on the held-out split."""
    return pooled_split(artifact_properties.model_name(artifact), splits.HOLDOUT,
                        read_top_k(artifact, splits.HOLDOUT), holdout_labels).per_class_ap(num_classes)


def stage_metrics(name: str, kind: str, artifact, labels: dict[str, LabelIndex], num_classes: int) -> list[dict]:
    """Scores of every labelled split of the artifact; never out-of-fold for a model whose
    targets came from the stack (its teachers saw those folds)."""
    leaky = artifact.has_custom_property(artifact_properties.SOFT_LABEL_WEIGHT)
    stages = []
    for split in artifact_properties.split_names(artifact):
        if split not in labels or (leaky and split == splits.OOF):
            continue
        result = score_split(name, split, read_top_k(artifact, split), labels[split], num_classes)
        stages.append({"name": name, "kind": kind, "split": split, **result})
        log.info("%s on %s: GAP %.4f (%d videos)", name, split, result["gap"], result["videos"])
    return stages


def class_prior_gap(labels: dict[str, LabelIndex], num_classes: int) -> float:
    """Held-out GAP@20 of the class-prior baseline: every video scored by its classes'
    frequencies in the training folds' labels (the same top 20 for every video)."""
    frequency = labels[splits.OOF].class_frequency(num_classes).astype(np.float64)
    class_ids, scores = metrics.top_k(frequency[None, :] / max(len(labels[splits.OOF]), 1), TOP_K)
    holdout, width = labels[splits.HOLDOUT], class_ids.shape[1]
    batch = TopK(holdout.ids, np.full((len(holdout), TOP_K), -1, np.int64), np.full((len(holdout), TOP_K), -np.inf))
    batch.class_ids[:, :width], batch.scores[:, :width] = class_ids, scores
    return score_split(CLASS_PRIOR, splits.HOLDOUT, [batch], holdout, num_classes)["gap"]


CLASS_PRIOR = "class_prior"
# The rules of the blessing, in the order a refusal names them.
PRIOR_FLOOR_RULE = "class_prior_floor"
RATIO_RULE = "min_gap_ratio"


def blessing_decision(stages: list[dict], min_gap_ratio: float, prior_gap: float, min_gap_over_prior: float) -> dict:
    """The student is blessed when its held-out GAP beats the class-prior baseline's by
    `min_gap_over_prior` and reaches `min_gap_ratio` × the best L1 model's. `decided_by`
    names the rule that refused it (the floor, when both did), or "both" when it passed both."""
    holdout = [s for s in stages if s["split"] == splits.HOLDOUT]
    student = next(s["gap"] for s in holdout if s["kind"] == "student")
    best_l1 = max(s["gap"] for s in holdout if s["kind"] == "l1")
    rules = {
        PRIOR_FLOOR_RULE: (student >= prior_gap + min_gap_over_prior,
                           f"class-prior baseline held-out GAP {prior_gap:.4f} + {min_gap_over_prior:g}"),
        RATIO_RULE: (student >= min_gap_ratio * best_l1, f"{min_gap_ratio} x best L1 held-out GAP {best_l1:.4f}"),
    }
    refused = [rule for rule, (passed, _) in rules.items() if not passed]
    shown = refused[:1] or list(rules)
    reason = "; ".join(f"student held-out GAP {student:.4f} {'<' if refused else '>='} {rules[rule][1]}"
                       for rule in shown)
    return {"blessed": not refused, "decided_by": refused[0] if refused else "both", "reason": reason,
            "min_gap_ratio": min_gap_ratio, "min_gap_over_prior": min_gap_over_prior,
            "class_prior_gap": prior_gap}


def evaluate_run(split_examples, l1_predictions: list, stack_predictions, student_predictions, student_model,
                 metrics, blessing, ui_outputs: dict, num_folds: int, num_classes: int, min_gap_ratio: float,
                 min_gap_over_prior: float, settings: dict) -> None:
    """GapEvaluator's work: every stage scored, the blessing decided, the report written."""
    labels = evaluation_labels(split_examples, num_folds)
    stages = []
    for artifact in sorted(l1_predictions, key=artifact_properties.model_name):
        stages += stage_metrics(artifact_properties.model_name(artifact), "l1", artifact, labels, num_classes)
    stages += stage_metrics("stack", "stack", stack_predictions, labels, num_classes)
    student_labels = {split: value for split, value in labels.items() if split != splits.OOF}
    stages += stage_metrics("student", "student", student_predictions, student_labels, num_classes)
    decision = blessing_decision(stages, min_gap_ratio, class_prior_gap(labels, num_classes), min_gap_over_prior)
    blessed, reason = decision["blessed"], decision["reason"]
    metrics_report = {"stages": stages, "blessing": decision}
    with open(os.path.join(metrics.uri, METRICS_FILE), "w") as out:
        json.dump(metrics_report, out, indent=2)
    fold_summaries = {artifact_properties.model_name(artifact): (artifact_properties.training_summary(artifact)
                                                                 or {}).get("folds", [])
                      for artifact in l1_predictions}
    page = write_report(metrics.uri, metrics_report, labels, stack_predictions, student_predictions, student_model,
                        num_classes, settings, fold_summaries)
    write_ui_outputs(ui_outputs, metrics_report, page)
    with open(os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), "w") as out:
        out.write(reason + "\n")
    blessing.set_int_custom_property(artifact_properties.BLESSED, int(blessed))
    blessing.set_string_custom_property(artifact_properties.REASON, reason)


def write_report(directory: str, metrics_report: dict, labels: dict, stack_predictions, student_predictions,
                 student_model, num_classes: int, settings: dict, fold_summaries: dict | None = None) -> str:
    """Writes report.html into `directory`; returns the page. `fold_summaries`: each L1
    model's fold summaries, for its training curves."""
    frequency = labels[splits.OOF].class_frequency(num_classes)
    ap_by_stage = {name: per_class_ap(artifact, labels[splits.HOLDOUT], num_classes)
                   for name, artifact in (("stack", stack_predictions), ("student", student_predictions))}
    model_bytes = (student_model.get_int_custom_property(artifact_properties.SAVED_MODEL_BYTES)
                   if student_model.has_custom_property(artifact_properties.SAVED_MODEL_BYTES) else None)
    precisions = json.loads(student_model.get_string_custom_property(artifact_properties.PRECISIONS) or "{}")
    page = report.render_report(metrics_report, frequency, ap_by_stage, model_bytes, settings, precisions,
                                fold_summaries)
    with open(os.path.join(directory, report.REPORT_FILE), "w") as out:
        out.write(page)
    return page


def write_ui_outputs(ui_outputs: dict, metrics_report: dict, page: str) -> None:
    """The outputs the Kubeflow Pipelines UI renders: each text is a file at its artifact's
    URI, the scalars are custom properties."""
    ui_outputs["report"].write(page)
    ui_outputs["summary"].write(report.render_summary(metrics_report))
    for name, value in report.scalar_metrics(metrics_report).items():
        ui_outputs["scalars"].set_float_custom_property(name, value)
