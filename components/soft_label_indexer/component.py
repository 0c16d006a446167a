"""SoftLabelIndexer: the sparse video × class soft-label matrix, attached to the videos.

Reads the stack's out-of-fold probabilities (every labelled, non-held-out video) and
writes the training videos with their soft labels, partitioned by fold like the input.
No test or held-out video gets soft labels: nothing may train on them.
"""
import apache_beam as beam
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples

import y8m_types
from components import artifact_properties
from components.soft_label_indexer.index import JoinSoftLabels
from common.errors import unwrapped_input_errors
from schemas import splits


@component(use_beam=True)
def SoftLabelIndexer(
    split_examples: InputArtifact[Examples],
    stack_predictions: InputArtifact[y8m_types.Predictions],
    soft_labels: OutputArtifact[y8m_types.SoftLabels],
    num_folds: Parameter[int] = 5,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    names = splits.fold_split_names(num_folds)
    oof_pattern = splits.split_files_pattern(stack_predictions, splits.OOF)
    fold_patterns = [splits.split_files_pattern(split_examples, name) for name in names]
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        joined = pipeline | "Join" >> JoinSoftLabels(fold_patterns, oof_pattern)
        parts = joined | "ByFold" >> beam.Partition(lambda row, _: row[0], num_folds)
        for name, part in zip(names, parts):
            _ = (part
                 | f"Records{name}" >> beam.Values()
                 | f"Write{name}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(soft_labels, name), file_name_suffix=splits.TFRECORD_SUFFIX))
    artifact_properties.set_split_names(soft_labels, names)
