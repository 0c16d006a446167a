"""FoldSplitter's work: every labelled video to its fold (or the held-out split), by its id.

Writes the examples partitioned into `fold_0..fold_{K-1}`, `holdout` and `test`, and
the fold table (`folds-*.csv`: `video_id,split`), the one assignment all stages share.
"""
import apache_beam as beam
import tensorflow as tf

from components import artifact_properties
from schemas import fold_bounds, splits


def _keyed_by_fold(serialized: bytes, num_folds: int, holdout_fraction: float, seed: int):
    video_id = tf.train.Example.FromString(serialized).features.feature["id"].bytes_list.value[0].decode()
    return splits.fold_of(video_id, num_folds, holdout_fraction, seed), video_id, serialized


def split_folds(examples, split_examples, fold_table, num_folds: int, holdout_fraction: float, seed: int,
                beam_pipeline: beam.Pipeline) -> None:
    fold_bounds.validate_folds(num_folds, holdout_fraction)
    names = splits.pipeline_split_names(num_folds)
    with beam_pipeline as pipeline:
        labelled = (pipeline
                    | "ReadLabelled" >> beam.io.ReadFromTFRecord(
                        splits.split_files_pattern(examples, splits.LABELLED))
                    | "Assign" >> beam.Map(_keyed_by_fold, num_folds, holdout_fraction, seed))
        # HOLDOUT_FOLD goes to partition K: names[K] is the held-out split.
        parts = labelled | "Partition" >> beam.Partition(
            lambda row, _: row[0] if row[0] >= 0 else num_folds, num_folds + 1)
        for index, part in enumerate(parts):
            name = names[index]
            _ = (part
                 | f"Records{name}" >> beam.Map(lambda row: row[2])
                 | f"Write{name}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(split_examples, name), file_name_suffix=splits.TFRECORD_SUFFIX))
        _ = (pipeline
             | "ReadTest" >> beam.io.ReadFromTFRecord(splits.split_files_pattern(examples, splits.TEST))
             | "WriteTest" >> beam.io.WriteToTFRecord(
                 splits.split_prefix(split_examples, splits.TEST), file_name_suffix=splits.TFRECORD_SUFFIX))
        _ = (labelled
             | "TableRows" >> beam.Map(lambda row: f"{row[1]},{splits.split_of(row[0])}")
             | "WriteTable" >> beam.io.WriteToText(f"{fold_table.uri}/folds", file_name_suffix=".csv",
                                                   header="video_id,split"))
    artifact_properties.set_split_names(split_examples, names)
    fold_table.set_int_custom_property(artifact_properties.NUM_FOLDS, num_folds)
    fold_table.set_float_custom_property(artifact_properties.HOLDOUT_FRACTION, holdout_fraction)
