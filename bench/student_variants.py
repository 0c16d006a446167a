"""Student variants on a finished run's soft labels: preprocessing, weight precision, configs.

Trains each variant with the Distiller's own code (the TFT analysis over the training
videos, training, the export, predictions of the exported SavedModel from serialized
Examples) on the run's SoftLabelIndexer output, and scores it with the evaluator's code
on the held-out split (which nothing trained on). Every variant is exported with float16
weights, so each line also carries the same weights' float32 export: the two precisions
are compared on one training. Choose on held-out; `--test` adds test GAPs (when the
test files carry labels) for reporting a choice already made.

    uv run --frozen python bench/student_variants.py RUN_DIR --work-dir DIR \
        [--variants quick,single,...] [--test] [--classes 3862]

RUN_DIR is a `y8m run --output` directory; results go to DIR/results.jsonl as well.
"""
import argparse
import copy
import json
import logging
import os
import shutil
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import apache_beam as beam  # noqa: E402
import tf_keras  # noqa: E402
from tfx.types.standard_artifacts import Examples, Model  # noqa: E402

import y8m_types  # noqa: E402
from components import artifact_properties  # noqa: E402
from components.student import distill  # noqa: E402
from components.evaluator import evaluate  # noqa: E402
from models import layers  # noqa: E402
from components.student.config import StudentConfig  # noqa: E402
from pipeline.beam_options import beam_args  # noqa: E402
from pipeline.profile import load_profile  # noqa: E402
from schemas import splits  # noqa: E402
from schemas.video_level import NUM_CLASSES  # noqa: E402


def _with(base: dict, **changes) -> dict:
    """The base student config with some keys (and kwargs/training entries) replaced."""
    config = copy.deepcopy(base)
    for key, value in changes.items():
        if key in ("kwargs", "training"):
            config[key] = {**config.get(key, {}), **value}
        else:
            config[key] = value
    return config


# One network: the quick profile's student before it became an ensemble.
SINGLE_MLP = {"family": "mlp", "kwargs": {"hidden_size": 2048, "dropout": 0.3}, "soft_label_weight": 0.3,
              "training": {"batch_size": 128, "max_epochs": 10, "learning_rate": 0.01}}


def variants(quick: dict) -> dict[str, dict]:
    """Named student configs: the quick profile's student, variants of one network, and
    ensembles of independently trained networks (averaged in one graph)."""
    single = SINGLE_MLP
    resnet_like = {"family": "resnet_like", "training": {**single["training"], "learning_rate": 0.003},
                   "kwargs": {"inner_size": 512, "av_id_block_num": 1, "concat_id_block_num": 1, "dropout": 0.5}}

    def ensemble(*entries, weight: float = single["soft_label_weight"]):
        return {"soft_label_weight": weight, "members": list(entries)}

    mlp = {key: single[key] for key in ("family", "kwargs", "training")}
    # The quick profile's L1 mlp recipe (batch-normalised, rate 0.001) as a student network.
    mlp_bn = {"family": "mlp", "kwargs": {"hidden_size": 2048, "dropout": 0.5, "batch_norm": True},
              "training": {"batch_size": 256, "max_epochs": 20, "learning_rate": 0.001}}
    gated_mlp = {"family": "gated_mlp", "kwargs": {"hidden_size": 1024}, "training": single["training"]}
    return {
        "quick": quick,
        # Soft-label weights on the batch-normalised mlp, alone and beside resnet_like.
        **{f"mlp_bn_w{weight}": ensemble({**mlp_bn, "copies": 1}, weight=weight) for weight in (0.0, 0.3)},
        **{f"mlp_bn3_resnet_like3_w{weight}": ensemble({**mlp_bn, "copies": 3}, {**resnet_like, "copies": 3},
                                                       weight=weight) for weight in (0.0, 0.1, 0.3, 0.5)},
        "mlp_bn6_w0.0": ensemble({**mlp_bn, "copies": 6}, weight=0.0),
        "mlp2_mlp_bn2_resnet_like2": ensemble({**mlp, "copies": 2}, {**mlp_bn, "copies": 2},
                                              {**resnet_like, "copies": 2}),
        "mlp2_resnet_like2_gated_mlp2": ensemble({**mlp, "copies": 2}, {**resnet_like, "copies": 2},
                                                 {**gated_mlp, "copies": 2}),
        # The demo's student (3 of each at weight 0.3) and its variants on hard labels.
        **{f"mlp3_gated_mlp3_w{weight}": ensemble({**mlp, "copies": 3}, {**gated_mlp, "copies": 3}, weight=weight)
           for weight in (0.0, 0.1, 0.3)},
        "mlp4_gated_mlp4_w0.0": ensemble({**mlp, "copies": 4}, {**gated_mlp, "copies": 4}, weight=0.0),
        "single": single,
        "single_standardized": _with(single, standardize=True),
        # z-scores alone, without the family's per-video L2 normalisation after them
        "standardized_no_l2": _with(single, standardize=True, kwargs={"normalize": False}),
        "wide4096": _with(single, kwargs={"hidden_size": 4096}),
        "w0.5": _with(single, soft_label_weight=0.5),
        "epochs20_lr0.003": _with(single, training={"max_epochs": 20, "learning_rate": 0.003}),
        "mixup0.3": _with(single, training={"mixup_alpha": 0.3}),
        "dropout0.5": _with(single, kwargs={"dropout": 0.5}),
        "two_layers": _with(single, family="early_concat_fcn",
                            kwargs={"hidden_size": 2048, "num_layers": 2, "dropout": 0.3}),
        "mlp3": ensemble({**mlp, "copies": 3}),
        "mlp5": ensemble({**mlp, "copies": 5}),
        "resnet_like3": ensemble({**resnet_like, "copies": 3}),
        "mlp3_resnet_like3": ensemble({**mlp, "copies": 3}, {**resnet_like, "copies": 3}),
        "gated_mlp3": ensemble({**gated_mlp, "copies": 3}),
    }


def fold_count(artifact) -> int:
    """The number of fold splits under an artifact's uri (read from disk: no metadata here)."""
    count = 0
    while os.path.isdir(splits.split_dir(artifact, splits.fold_split_name(count))):
        count += 1
    return count


def latest_output(run_dir: str, component: str, output: str) -> str:
    """The newest execution's output directory of a component (LocalDagRunner layout)."""
    root = os.path.join(run_dir, "pipeline_root", component, output)
    executions = sorted(int(name) for name in os.listdir(root) if name.isdigit())
    if not executions:
        raise SystemExit(f"{root} holds no execution output")
    return os.path.join(root, str(executions[-1]))


def artifact(artifact_type, uri: str):
    made = artifact_type()
    made.uri = uri
    return made


def run_artifact(artifact_type, uri: str):
    """An artifact of a finished run's output directory, its split names read from disk (the
    components record them in ML Metadata, which this bench does not read)."""
    made = artifact(artifact_type, uri)
    artifact_properties.set_split_names(made, sorted(name.removeprefix("Split-") for name in os.listdir(uri)
                                                     if name.startswith("Split-")))
    return made


def run_variant(name: str, config: dict, inputs: dict, work_dir: str, with_test: bool) -> dict:
    soft_labels, examples, num_folds, num_classes = (inputs[key] for key in
                                                     ("soft_labels", "examples", "num_folds", "num_classes"))
    variant_dir = os.path.join(work_dir, name)
    shutil.rmtree(variant_dir, ignore_errors=True)  # a rerun starts clean
    model_artifact = artifact(Model, os.path.join(variant_dir, "model"))
    predictions = artifact(y8m_types.Predictions, os.path.join(variant_dir, "predictions"))
    student_config = StudentConfig.from_dict(config)
    transform_dir = os.path.join(variant_dir, "transform")
    tf_keras.backend.clear_session()
    analysis_tmp = os.path.join(variant_dir, "analysis-tmp")
    with beam.Pipeline(argv=beam_args("local")) as pipeline:
        distill.analyze_training_features(pipeline, soft_labels, num_folds, transform_dir, student_config.standardize,
                                          analysis_tmp)
    shutil.rmtree(analysis_tmp, ignore_errors=True)
    started = time.monotonic()
    # The pipeline's StudentTrainer tasks, one after another, then the Distiller's average.
    networks = [distill.train_network(soft_labels, student_config, index, num_folds, num_classes, transform_dir,
                                      log_dir=None)[0]
                for index in range(len(student_config.networks()))]
    train_seconds = time.monotonic() - started
    student = layers.averaged(networks)
    exported = distill.export_and_predict(student, model_artifact, examples, predictions, transform_dir,
                                          weights_dtype="float16")
    result = {"name": name, "config": config, "parameters": int(student.count_params()),
              "train_seconds": round(train_seconds, 1), "precisions": exported["precisions"]}
    for split in splits.STUDENT_PREDICTION_SPLITS if with_test else (splits.HOLDOUT,):
        labels = evaluate.label_index(examples, [split])
        if labels.labels.size:
            result[split] = evaluate.score_split(name, split, evaluate.read_top_k(predictions, split), labels,
                                                 num_classes)
    return result


def stack_holdout_gap(run_dir: str) -> float | None:
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(path):
        return None
    with open(path) as source:
        stages = json.load(source)["stages"]
    return next((s["gap"] for s in stages if s["kind"] == "stack" and s["split"] == splits.HOLDOUT), None)


def report_line(result: dict) -> str:
    precisions = result["precisions"]
    line = (f"{result['name']:<20} params {result['parameters']:>11,} train {result['train_seconds']:6.0f}s | "
            f"held-out GAP {result[splits.HOLDOUT]['gap']:.4f} (float16 export) "
            f"{precisions['float32']['holdout_gap']:.4f} (float32 export) | "
            f"MB {precisions['float16']['saved_model_bytes'] / 1e6:.1f} / {precisions['float32']['saved_model_bytes'] / 1e6:.1f}")
    if splits.TEST in result:
        line += f" | test GAP {result[splits.TEST]['gap']:.4f}"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--work-dir", required=True, help="where the variants' models and predictions go")
    parser.add_argument("--variants", default="quick,single", help="comma-separated names")
    parser.add_argument("--test", action="store_true", help="also score the test split (report, never choose)")
    parser.add_argument("--classes", type=int, default=NUM_CLASSES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("y8m").setLevel(logging.INFO)  # per-epoch progress of the training code

    soft_labels = run_artifact(y8m_types.SoftLabels, latest_output(args.run_dir, "SoftLabelIndexer", "soft_labels"))
    examples = run_artifact(Examples, latest_output(args.run_dir, "FoldSplitter", "split_examples"))
    num_folds = fold_count(soft_labels)
    inputs = {"soft_labels": soft_labels, "examples": examples, "num_folds": num_folds, "num_classes": args.classes}
    known = variants(json.loads(load_profile("quick").student.to_json()))
    chosen = args.variants.split(",")
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(known)}")

    os.makedirs(args.work_dir, exist_ok=True)
    print(f"stack held-out GAP of the run: {stack_holdout_gap(args.run_dir)}")
    for name in chosen:
        result = run_variant(name, known[name], inputs, args.work_dir, args.test)
        with open(os.path.join(args.work_dir, "results.jsonl"), "a") as sink:
            sink.write(json.dumps(result) + "\n")
        print(report_line(result), flush=True)


if __name__ == "__main__":
    main()
