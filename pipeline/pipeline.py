"""The label-denoising pipeline: one pure factory used by every runner and by the tests."""
import dataclasses
import json

from tfx.components.pusher.component import Pusher
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import pusher_pb2

from components.student.distiller.component import Distiller
from components.evaluator.component import GapEvaluator
from components.example_gen.component import VideoExampleGen
from components.fold_splitter.component import FoldSplitter
from components.frame_features.component import FrameFeatures
from components.l1_assembler.component import L1Assembler
from components.l1_trainer.component import L1Trainer
from components.lgbm_stacker.component import LGBMStacker
from components.prediction_merger.component import PredictionMerger
from components.soft_label_indexer.component import SoftLabelIndexer
from components.student.trainer.component import StudentTrainer
from components.student.transform.component import StudentTransform
from models.model_config import L1ModelConfig
from pipeline.profile import Profile
from schemas.video_level import NUM_CLASSES
from common.errors import UserError


def task_name(model_name: str) -> str:
    """`resnet_like` → `resnet-like`: Kubeflow's Argo backend takes task names of letters,
    digits and dashes only."""
    return model_name.replace("_", "-")


def trainer_id(model_name: str, fold: int) -> str:
    """`L1Trainer-resnet-like-fold-2`: one training task per (model, fold)."""
    return f"L1Trainer-{task_name(model_name)}-fold-{fold}"


def assembler_id(model_name: str) -> str:
    return f"L1Assembler-{task_name(model_name)}"


def frame_feature_nodes(profile: Profile, frame_patterns: list[str] | None, frame_fingerprint: str,
                        split_examples, num_classes: int) -> list:
    """[FrameFeatures] when the profile has frame-level models, else []."""
    frame_models = profile.frame_models
    if not frame_models and not frame_patterns:
        return []
    if not frame_patterns:
        raise UserError(f"the profile's frame-level models {[model.name for model in frame_models]} need "
                        "frame-level files (--frame-train/--frame-test)")
    if not frame_models:
        raise UserError("frame-level files were given, but the profile has no frame-level model")
    frame_features = FrameFeatures(frame_patterns=json.dumps(frame_patterns), input_fingerprint=frame_fingerprint,
                                   split_examples=split_examples,
                                   num_folds=profile.folds, num_classes=num_classes,
                                   max_frames=max(model.frame_length for model in frame_models))
    return [frame_features]


def create_pipeline(*, pipeline_name: str, pipeline_root: str, profile: Profile,
                    labelled_patterns: list[str], test_patterns: list[str], input_fingerprint: str,
                    serving_model_dir: str, beam_pipeline_args: list[str],
                    metadata_connection_config=None, num_classes: int = NUM_CLASSES,
                    enable_cache: bool = True, frame_patterns: list[str] | None = None,
                    frame_fingerprint: str = "") -> tfx_pipeline.Pipeline:
    """`frame_patterns`: frame-level TFRecords (labelled and test alike: each video is routed
    by its id), needed by the profile's frame-level models and only by them."""
    folds = profile.folds
    example_gen = VideoExampleGen(
        labelled_patterns=json.dumps(labelled_patterns), test_patterns=json.dumps(test_patterns),
        input_fingerprint=input_fingerprint, num_classes=num_classes)
    fold_splitter = FoldSplitter(
        examples=example_gen.outputs["examples"], num_folds=folds,
        holdout_fraction=profile.holdout_fraction, seed=profile.seed)
    split_examples = fold_splitter.outputs["split_examples"]
    frame_nodes = frame_feature_nodes(profile, frame_patterns, frame_fingerprint, split_examples, num_classes)
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
                             min_gap_ratio=profile.min_gap_ratio, settings=json.dumps(dataclasses.asdict(profile), sort_keys=True))
    pusher = Pusher(model=distiller.outputs["model"], model_blessing=evaluator.outputs["blessing"],
                    push_destination=pusher_pb2.PushDestination(
                        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=serving_model_dir)))

    return tfx_pipeline.Pipeline(
        pipeline_name=pipeline_name, pipeline_root=pipeline_root,
        components=[example_gen, fold_splitter, *frame_nodes, *[node for nodes in l1_nodes for node in nodes], merger, stacker, soft_labels,
                    *[node for nodes in soft_label_nodes for node in nodes], student_transform, *student_trainers, distiller, evaluator, pusher],
        enable_cache=enable_cache, metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=beam_pipeline_args)
