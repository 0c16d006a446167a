"""PredictionMerger: every L1 model's predictions joined by video id, as candidate rows.

Outputs splits `oof` (labelled fold videos, with their fold), `holdout` and `test`.
"""
import json

import apache_beam as beam
import tensorflow as tf
from tfx import types
from tfx.dsl.components.base import base_beam_component, base_beam_executor, executor_spec
from tfx.types import artifact_utils
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties, l2_features, model_inputs
from components.prediction_merger.merge import MergePredictions
from schemas import predictions as rows
from common.errors import InvalidInputError, unwrapped_input_errors
from schemas import splits


def prediction_files(artifact, model_name: str) -> list[str]:
    """The files of every prediction split; a split without files is an error."""
    files = []
    for split in splits.PREDICTION_SPLITS:
        pattern = splits.split_files_pattern(artifact, split)
        split_files = sorted(tf.io.gfile.glob(pattern))
        if not split_files:
            raise InvalidInputError(f"model '{model_name}': no '{split}' prediction files at {pattern}")
        files += split_files
    return files


def merge_all(split_examples, predictions: list, merged, num_folds: int, beam_pipeline) -> None:
    model_files = {}
    for artifact in sorted(predictions, key=artifact_properties.model_name):
        name = artifact_properties.model_name(artifact)
        if name in model_files:
            raise InvalidInputError(f"two prediction artifacts are named '{name}'")
        model_files[name] = prediction_files(artifact, name)
    if not model_files:
        raise InvalidInputError("no model predictions to merge")
    video_splits = {fold: splits.split_files_pattern(split_examples, splits.split_of(fold))
                    for fold in splits.pipeline_folds(num_folds)}
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        candidate_rows = pipeline | "Merge" >> MergePredictions(video_splits, model_files)
        parts = candidate_rows | "BySplit" >> beam.Partition(
            lambda row, _: splits.PREDICTION_SPLITS.index(splits.prediction_split_of(row.fold)),
            len(splits.PREDICTION_SPLITS))
        for split, part in zip(splits.PREDICTION_SPLITS, parts):
            _ = (part
                 | f"Encode{split}" >> beam.Map(rows.encode_candidates)
                 | f"Write{split}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(merged, split), file_name_suffix=splits.TFRECORD_SUFFIX))
    artifact_properties.set_split_names(merged, list(splits.PREDICTION_SPLITS))
    merged.set_string_custom_property(artifact_properties.MODEL_NAMES, json.dumps(list(model_files)))
    merged.set_string_custom_property(artifact_properties.FEATURE_NAMES,
                                      json.dumps(l2_features.l2_feature_names(list(model_files))))


class PredictionMergerSpec(types.ComponentSpec):
    """The fixed keys; the per-model prediction keys are added per pipeline."""
    PARAMETERS = {"num_folds": ExecutionParameter(type=int)}
    INPUTS = {"split_examples": ChannelParameter(type=Examples)}
    OUTPUTS = {"merged": ChannelParameter(type=y8m_types.MergedPredictions)}


class Executor(base_beam_executor.BaseBeamExecutor):
    def Do(self, input_dict, output_dict, exec_properties):
        merge_all(artifact_utils.get_single_instance(input_dict["split_examples"]),
                  model_inputs.model_artifacts(input_dict),
                  artifact_utils.get_single_instance(output_dict["merged"]),
                  exec_properties["num_folds"], self._make_beam_pipeline())


class PredictionMerger(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = PredictionMergerSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(Executor)

    def __init__(self, split_examples, predictions: list, num_folds: int = 5):
        """`predictions`: one channel per L1 model (each L1Trainer's `predictions`)."""
        spec_class = model_inputs.spec_with_model_inputs(PredictionMergerSpec, len(predictions))
        super().__init__(spec=spec_class(
            split_examples=split_examples, num_folds=num_folds,
            merged=types.Channel(type=y8m_types.MergedPredictions),
            **model_inputs.model_input_channels(predictions)))
