"""Benchmark: GapEvaluator against the dense numpy equivalent of its work, at N and 4N videos.

The evaluator (`components/evaluator/evaluate.py`, `evaluate_run`) scores every stage of
a run on hard labels: M = 2 L1 models' dense float32 predictions over 3,862 classes
(out-of-fold for the N fold videos, held-out N/10, test N/4; gzipped TFRecords as the
assembler writes them), the stack's sparse rows (60 candidates a video) on the same
splits and the student's dense held-out and test rows; then the per-class held-out AP
of the stack and the student for its report, and the report itself.

Its limit is the dense numpy equivalent (`dense_scores`): the hard labels read with
their ids alone parsed, every prediction split read a batch of 1,024 rows per step of
TensorFlow's reader and parsed in one `tf.io.parse_example`, its scores taken as one
[b, C] array (the stack's sparse rows spread into one), the top 20 of each row by
`metrics.top_k`, and each split judged at once by `metrics.evaluate` (and
`metrics.per_class_ap` where the report needs it), every top 20 held in memory. Not a
bound on I/O bytes: choosing the top 20 of 3,862 scores costs more than reading them,
and the evaluator cannot skip it. Each run checks that both found the same GAPs.

Both are timed in CPU seconds of this process (every thread) and in wall seconds: on a
machine shared with other jobs the wall clock also counts the time spent waiting for a
core, so the CPU ratio is the one that compares the work. Prints the ratio limit /
evaluator (1.0 = as fast as the plain equivalent; target >= 0.6). A run on a few videos
first takes TensorFlow's one-time start-up out of the measurement.

    uv run --frozen python bench/evaluator_bench.py [--videos 2000]
"""
import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from assembler_bench import Timer, ratio  # noqa: E402

CLASSES = 3862
FOLDS = 5
MODELS = 2
CANDIDATES = 60
BATCH = 1024
TOP_K = 20


def new_artifact(artifact_type, path: str):
    """An artifact at a fresh folder (a value artifact: a file there), as the launcher gives it."""
    from tfx.types.value_artifact import ValueArtifact
    artifact = artifact_type()
    artifact.uri = path
    os.makedirs(os.path.dirname(path) if isinstance(artifact, ValueArtifact) else path, exist_ok=True)
    return artifact


def write_inputs(directory: str, videos: int, seed: int = 0) -> dict:
    """The evaluator's inputs: labelled fold, held-out and test videos and every stage's predictions."""
    from tfx.types import standard_artifacts

    import y8m_types
    from components import artifact_properties
    from schemas import predictions as rows
    from schemas import splits, video_level
    rng = np.random.default_rng(seed)
    ids_of = {splits.OOF: [f"f{i:07d}" for i in range(videos)],
              splits.HOLDOUT: [f"h{i:07d}" for i in range(videos // 10)],
              splits.TEST: [f"t{i:07d}" for i in range(videos // 4)]}
    examples = new_artifact(standard_artifacts.Examples, os.path.join(directory, "split_examples"))
    features = np.zeros(video_level.RGB_SIZE), np.zeros(video_level.AUDIO_SIZE)
    example_splits = {**{splits.fold_split_name(fold): ids_of[splits.OOF][fold::FOLDS] for fold in range(FOLDS)},
                      splits.HOLDOUT: ids_of[splits.HOLDOUT], splits.TEST: ids_of[splits.TEST]}
    for split, ids in example_splits.items():
        splits.write_split_records(examples, split, (
            video_level.make_example(video_id, rng.choice(CLASSES, rng.integers(1, 6), replace=False),
                                     *features).SerializeToString() for video_id in ids))

    def dense(name: str, split_names, kind: str | None = None):
        artifact = new_artifact(y8m_types.Predictions, os.path.join(directory, name))
        for split in split_names:
            ids = list(rng.permutation(ids_of[split]))
            splits.write_dense_predictions(artifact, split, (
                (ids[start:start + BATCH], rng.random((len(ids[start:start + BATCH]), CLASSES), np.float32))
                for start in range(0, len(ids), BATCH)))
        artifact_properties.set_split_names(artifact, list(split_names))
        artifact.set_string_custom_property(artifact_properties.MODEL_NAME, name)
        if kind:
            artifact.set_string_custom_property(artifact_properties.KIND, kind)
        return artifact

    l1 = [dense(f"model{model}", splits.PREDICTION_SPLITS) for model in range(MODELS)]
    stack = new_artifact(y8m_types.Predictions, os.path.join(directory, "stack"))
    for split in splits.PREDICTION_SPLITS:
        splits.write_split_records(stack, split, (
            rows.encode_prediction(video_id, rng.random(CANDIDATES, dtype=np.float32),
                                   class_ids=rng.choice(CLASSES, CANDIDATES, replace=False))
            for video_id in rng.permutation(ids_of[split])))
    artifact_properties.set_split_names(stack, list(splits.PREDICTION_SPLITS))
    student = dense("student", splits.STUDENT_PREDICTION_SPLITS, "student")
    student_model = new_artifact(standard_artifacts.Model, os.path.join(directory, "student_model"))
    student_model.set_int_custom_property(artifact_properties.SAVED_MODEL_BYTES, 10**6)
    return {"examples": examples, "l1": l1, "stack": stack, "student": student, "student_model": student_model}


def run_evaluator(inputs: dict, directory: str) -> dict:
    """`evaluate_run` as GapEvaluator's executor calls it; returns the metrics it wrote."""
    from tfx.types import standard_artifacts

    import y8m_types
    from components.evaluator import evaluate
    metrics = new_artifact(y8m_types.StageMetrics, os.path.join(directory, "metrics"))
    ui_outputs = {"report": new_artifact(y8m_types.HtmlReport, os.path.join(directory, "ui", "report")),
                  "summary": new_artifact(y8m_types.MarkdownSummary, os.path.join(directory, "ui", "summary")),
                  "scalars": new_artifact(y8m_types.ScalarMetrics, os.path.join(directory, "scalars"))}
    evaluate.evaluate_run(inputs["examples"], inputs["l1"], inputs["stack"], inputs["student"],
                          inputs["student_model"], metrics,
                          new_artifact(standard_artifacts.ModelBlessing, os.path.join(directory, "blessing")),
                          ui_outputs, FOLDS, CLASSES, 0.0, -1.0, {"name": "bench"})
    with open(os.path.join(metrics.uri, evaluate.METRICS_FILE)) as source:
        return json.load(source)


def dense_labels(examples, split_names: list[str]) -> dict:
    """Video id → hard labels of the splits, with only the id and the labels parsed."""
    import tensorflow as tf

    from schemas import splits, video_level
    spec = {video_level.ID_KEY: tf.io.FixedLenFeature([], tf.string),
            video_level.LABELS_KEY: tf.io.VarLenFeature(tf.int64)}
    labels = {}
    for split in split_names:
        for batch in splits.read_split_batches(examples, split, BATCH):
            parsed = tf.io.parse_example(batch, spec)
            labels.update(zip(parsed[video_level.ID_KEY].numpy(),
                              tf.RaggedTensor.from_sparse(parsed[video_level.LABELS_KEY]).numpy()))
    return labels


def dense_top_k(artifact, split: str, labels: dict) -> tuple:
    """(class ids, scores, labels) of every labelled video's top 20 in one split."""
    import tensorflow as tf

    from models import metrics
    from schemas import predictions as rows
    from schemas import splits
    spec = {rows.ID_KEY: tf.io.FixedLenFeature([], tf.string), rows.SCORES_KEY: tf.io.FixedLenFeature([], tf.string),
            rows.CLASS_IDS_KEY: tf.io.FixedLenFeature([], tf.string, default_value=b"")}
    class_ids, scores, video_labels = [], [], []
    for batch in splits.read_split_batches(artifact, split, BATCH):
        parsed = {key: value.numpy() for key, value in tf.io.parse_example(batch, spec).items()}
        values = np.frombuffer(b"".join(parsed[rows.SCORES_KEY]), rows.FLOATS)
        if parsed[rows.CLASS_IDS_KEY][0]:  # sparse rows, spread into [b, C]
            lengths = np.array([len(row) for row in parsed[rows.CLASS_IDS_KEY]]) // rows.INTS.itemsize
            matrix = np.full((len(batch), CLASSES), -np.inf, np.float32)
            matrix[np.repeat(np.arange(len(batch)), lengths),
                   np.frombuffer(b"".join(parsed[rows.CLASS_IDS_KEY]), rows.INTS)] = values
        else:
            matrix = values.reshape(len(batch), CLASSES)
        top_ids, top_scores = metrics.top_k(matrix, TOP_K)
        kept = [position for position, video_id in enumerate(parsed[rows.ID_KEY]) if video_id in labels]
        class_ids.append(top_ids[kept])
        scores.append(top_scores[kept])
        video_labels += [labels[parsed[rows.ID_KEY][position]] for position in kept]
    return np.concatenate(class_ids), np.concatenate(scores), video_labels


def dense_scores(inputs: dict) -> dict:
    """The evaluator's GAPs by plain means (the limit; see the docstring): {name/split: gap}."""
    from models import metrics
    from schemas import splits
    labels = {splits.OOF: dense_labels(inputs["examples"], splits.fold_split_names(FOLDS)),
              **{split: dense_labels(inputs["examples"], [split]) for split in (splits.HOLDOUT, splits.TEST)}}
    stages = [*((f"model{model}", artifact, splits.PREDICTION_SPLITS) for model, artifact in enumerate(inputs["l1"])),
              ("stack", inputs["stack"], splits.PREDICTION_SPLITS),
              ("student", inputs["student"], splits.STUDENT_PREDICTION_SPLITS)]
    gaps = {}
    for name, artifact, split_names in stages:
        for split in split_names:
            judged = dense_top_k(artifact, split, labels[split])
            gaps[f"{name}/{split}"] = metrics.evaluate(*judged, CLASSES)["gap"]
            if split == splits.HOLDOUT and name in ("stack", "student"):
                metrics.per_class_ap(*judged, CLASSES)
    return gaps


def measure(directory: str, videos: int) -> dict:
    inputs = write_inputs(directory, videos)
    with Timer() as evaluator:
        written = run_evaluator(inputs, os.path.join(directory, "evaluated"))
    with Timer() as limit:
        gaps = dense_scores(inputs)
    found = {f"{stage['name']}/{stage['split']}": stage["gap"] for stage in written["stages"]}
    if found.keys() != gaps.keys() or any(abs(found[key] - gaps[key]) > 1e-9 for key in gaps):
        raise AssertionError(f"the evaluator and the dense equivalent disagree: {found} against {gaps}")
    return {"videos": videos, "evaluator": evaluator, "limit": limit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="evaluator-bench-") as directory:
        measure(directory, 4 * FOLDS)  # TensorFlow's one-time start of its readers and parsers
    for videos in (args.videos, 4 * args.videos):
        with tempfile.TemporaryDirectory(prefix="evaluator-bench-") as directory:
            r = measure(directory, videos)
        evaluator, limit = r["evaluator"], r["limit"]
        print(f"N={videos:6d}: evaluator {evaluator}, dense equivalent {limit}: {ratio(limit, evaluator)}",
              flush=True)


if __name__ == "__main__":
    main()
