"""The label-denoising pipeline: one pure factory used by every runner and by the tests."""
import dataclasses
import json

from tfx.orchestration import data_types
from tfx.orchestration import pipeline as tfx_pipeline

from components.student.distiller.component import Distiller
from components.evaluator.component import GapEvaluator
from components.example_gen.component import VideoExampleGen
from components.fold_splitter.component import FoldSplitter
from components.frame_features.component import FrameFeatures
from components.input_fingerprint.component import InputFingerprint
from components.l1_assembler.component import L1Assembler
from components.l1_trainer.component import L1Trainer
from components.lgbm_stacker.component import LGBMStacker
from components.prediction_merger.component import PredictionMerger
from components.pusher.component import Pusher
from components.soft_label_indexer.component import SoftLabelIndexer
from components.student.trainer.component import StudentTrainer
from components.student.transform.component import StudentTransform
from models.model_config import L1ModelConfig
from pipeline.profile import Profile
from schemas.video_level import NUM_CLASSES
from common.errors import UserError

# The parameters of a run compiled with `inputs_at_run_time` (the KFP run form): name →
# type. Patterns are JSON lists of globs.
RUN_PARAMETERS = {"labelled_patterns": str, "test_patterns": str, "frame_patterns": str,
                  "serving_model_dir": str, "min_gap_ratio": float}
PATTERN_PARAMETERS = ("labelled_patterns", "test_patterns", "frame_patterns")
FINGERPRINT_TASK = "InputFingerprint"


def task_name(model_name: str) -> str:
    """`resnet_like` → `resnet-like`: Kubeflow's Argo backend takes task names of letters,
    digits and dashes only."""
    return model_name.replace("_", "-")


def trainer_id(model_name: str, fold: int) -> str:
    """`L1Trainer-resnet-like-fold-2`: one training task per (model, fold)."""
    return f"L1Trainer-{task_name(model_name)}-fold-{fold}"


def assembler_id(model_name: str) -> str:
    return f"L1Assembler-{task_name(model_name)}"


def run_parameter(name: str, value, at_run_time: bool):
    """`value` (patterns as JSON), or with `at_run_time` a parameter of the run that has it
    as its default."""
    value = json.dumps(value) if name in PATTERN_PARAMETERS else value
    return data_types.RuntimeParameter(name=name, ptype=RUN_PARAMETERS[name], default=value) if at_run_time else value


def frame_feature_nodes(profile: Profile, frame_patterns: list[str] | None, frame_fingerprint,
                        split_examples, num_classes: int, at_run_time: bool) -> list:
    """[FrameFeatures] when the profile has frame-level models, else []."""
    frame_models = profile.frame_models
    if not frame_models and not frame_patterns:
        return []
    if not frame_patterns:
        raise UserError(f"the profile's frame-level models {[model.name for model in frame_models]} need "
                        "frame-level files (--frame-train/--frame-test)")
    if not frame_models:
        raise UserError("frame-level files were given, but the profile has no frame-level model")
    frame_features = FrameFeatures(frame_patterns=run_parameter("frame_patterns", frame_patterns, at_run_time),
                                   input_fingerprint=frame_fingerprint,
                                   split_examples=split_examples,
                                   num_folds=profile.folds, num_classes=num_classes,
                                   max_frames=max(model.frame_length for model in frame_models))
    return [frame_features]


def create_pipeline(*, pipeline_name: str, pipeline_root: str, profile: Profile,
                    labelled_patterns: list[str], test_patterns: list[str],
                    serving_model_dir: str, beam_pipeline_args: list[str], input_fingerprint: str = "",
                    metadata_connection_config=None, num_classes: int = NUM_CLASSES,
                    enable_cache: bool = True, frame_patterns: list[str] | None = None,
                    frame_fingerprint: str = "", inputs_at_run_time: bool = False) -> tfx_pipeline.Pipeline:
    """`frame_patterns`: frame-level TFRecords (labelled and test alike: each video is routed
    by its id), needed by the profile's frame-level models and only by them.
    `input_fingerprint`, `frame_fingerprint`: what the files hold (common/input_files.py),
    part of the reading components' cache keys. With `inputs_at_run_time` (Kubeflow) the
    patterns, `serving_model_dir` and the blessing's `min_gap_ratio` are parameters of the
    run (RUN_PARAMETERS, the given values their defaults), and the first task,
    InputFingerprint, computes the fingerprints when the run starts."""
    folds = profile.folds
    labelled = run_parameter("labelled_patterns", labelled_patterns, inputs_at_run_time)
    test = run_parameter("test_patterns", test_patterns, inputs_at_run_time)
    fingerprint_nodes = []
    if inputs_at_run_time:
        fingerprints = InputFingerprint(
            labelled_patterns=labelled, test_patterns=test,
            **({"frame_patterns": run_parameter("frame_patterns", frame_patterns, True)} if frame_patterns else {}))
        fingerprint_nodes = [fingerprints.with_id(FINGERPRINT_TASK)]
        input_fingerprint = fingerprints.outputs["video_fingerprint"].future()[0].value
        frame_fingerprint = fingerprints.outputs["frame_fingerprint"].future()[0].value
    example_gen = VideoExampleGen(labelled_patterns=labelled, test_patterns=test,
                                  input_fingerprint=input_fingerprint, num_classes=num_classes)
    fold_splitter = FoldSplitter(
        examples=example_gen.outputs["examples"], num_folds=folds,
        holdout_fraction=profile.holdout_fraction, seed=profile.seed)
    split_examples = fold_splitter.outputs["split_examples"]
    frame_nodes = frame_feature_nodes(profile, frame_patterns, frame_fingerprint, split_examples, num_classes,
                                      inputs_at_run_time)
    frame_features = frame_nodes[-1].outputs["frame_features"] if frame_nodes else None

    def l1_model(config: L1ModelConfig, soft_labels=None) -> list:
        """The model's K fold trainers (independent of each other) and their assembler."""
        fold_trainers = [
            L1Trainer(examples=split_examples, model_config=config.to_json(), fold=fold,
                      soft_labels=soft_labels, num_folds=folds, num_classes=num_classes,
                      frame_features=frame_features if config.reads_frames else None,
                      ).with_id(trainer_id(config.name, fold))
            for fold in range(folds)]
        assembler = L1Assembler(fold_predictions=[trainer.outputs["fold_predictions"] for trainer in fold_trainers],
                                model_config=config.to_json(), num_folds=folds).with_id(assembler_id(config.name))
        return [*fold_trainers, assembler]

    l1_nodes = [l1_model(config) for config in profile.first_round_models]
    merger = PredictionMerger(split_examples=split_examples,
                              predictions=[nodes[-1].outputs["predictions"] for nodes in l1_nodes],
                              num_folds=folds)
    stacker = LGBMStacker(merged=merger.outputs["merged"], stacker_settings=profile.stacker.to_json(),
                          num_folds=folds, num_classes=num_classes)
    soft_labels = SoftLabelIndexer(split_examples=split_examples,
                                   stack_predictions=stacker.outputs["predictions"], num_folds=folds)
    # The second round of label denoising: L1 models retrained on the stack's soft labels.
    soft_label_nodes = [l1_model(config, soft_labels.outputs["soft_labels"])
                        for config in profile.second_round_models]
    student_config = profile.student.to_json()
    student_transform = StudentTransform(
        soft_labels=soft_labels.outputs["soft_labels"], student_config=student_config, num_folds=folds,
        num_classes=num_classes, max_model_bytes=profile.max_model_bytes)
    # One task per network (independent of each other), averaged by the Distiller.
    student_trainers = [
        StudentTrainer(soft_labels=soft_labels.outputs["soft_labels"],
                       transform_graph=student_transform.outputs["transform_graph"],
                       student_config=student_config, network_index=index, num_folds=folds,
                       num_classes=num_classes).with_id(f"StudentTrainer-{index}")
        for index in range(len(profile.student.networks()))]
    distiller = Distiller(student_networks=[trainer.outputs["network"] for trainer in student_trainers],
                          transform_graph=student_transform.outputs["transform_graph"],
                          split_examples=split_examples, student_config=student_config,
                          num_classes=num_classes, max_model_bytes=profile.max_model_bytes)
    evaluator = GapEvaluator(split_examples=split_examples,
                             l1_predictions=[nodes[-1].outputs["predictions"]
                                             for nodes in l1_nodes + soft_label_nodes],
                             stack_predictions=stacker.outputs["predictions"],
                             student_predictions=distiller.outputs["predictions"],
                             student_model=distiller.outputs["model"], num_folds=folds, num_classes=num_classes,
                             min_gap_ratio=run_parameter("min_gap_ratio", profile.min_gap_ratio, inputs_at_run_time),
                             min_gap_over_prior=profile.min_gap_over_prior,
                             settings=json.dumps(dataclasses.asdict(profile), sort_keys=True))
    pusher = Pusher(model=distiller.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                    serving_model_dir=run_parameter("serving_model_dir", serving_model_dir, inputs_at_run_time))

    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root,
        components=[*fingerprint_nodes, example_gen, fold_splitter, *frame_nodes, *[node for nodes in l1_nodes for node in nodes], merger, stacker, soft_labels,
                    *[node for nodes in soft_label_nodes for node in nodes], student_transform, *student_trainers, distiller, evaluator, pusher],
        enable_cache=enable_cache, metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args)
