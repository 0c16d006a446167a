"""VideoExampleGen: the YouTube-8M video-level TFRecords into an `Examples` artifact.

Train and validate files are pooled as the `labelled` split; test files form the `test`
split (their labels, where present, are only ever used for scoring). Every record is
validated; a bad one fails the run with the file and record index, and nothing is
published.
"""
import json

import apache_beam as beam
from tfx.dsl.component.experimental.annotations import BeamComponentParameter, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples

from components import artifact_properties
from components.example_gen.video_records import CheckUniqueIds, CountUnlabelled, ReadValidatedVideos
from common.input_files import expand_patterns
from schemas import splits
from schemas.video_level import NUM_CLASSES
from common.errors import InvalidInputError, unwrapped_input_errors


@component(use_beam=True)
def VideoExampleGen(
    examples: OutputArtifact[Examples],
    labelled_patterns: Parameter[str],
    test_patterns: Parameter[str],
    input_fingerprint: Parameter[str],
    num_classes: Parameter[int] = NUM_CLASSES,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """`*_patterns` are JSON lists of globs; `input_fingerprint` makes caching see changed files."""
    del input_fingerprint  # only part of the cache key
    files = {
        splits.LABELLED: expand_patterns(json.loads(labelled_patterns), "labelled"),
        splits.TEST: expand_patterns(json.loads(test_patterns), "test"),
    }
    overlap = set(files[splits.LABELLED]) & set(files[splits.TEST])
    if overlap:
        raise InvalidInputError(f"{sorted(overlap)[0]} is given both as labelled and as test data")
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        videos = {}
        for split, split_files in files.items():
            videos[split] = pipeline | f"Read{split}" >> ReadValidatedVideos(split_files, num_classes)
            _ = (videos[split]
                 | f"Serialized{split}" >> beam.Map(lambda video: video.serialized)
                 | f"Write{split}" >> beam.io.WriteToTFRecord(
                     splits.split_prefix(examples, split), file_name_suffix=splits.TFRECORD_SUFFIX))
        _ = videos | "UniqueIds" >> CheckUniqueIds()
        _ = videos[splits.LABELLED] | "CountUnlabelled" >> CountUnlabelled()
    artifact_properties.set_split_names(examples, list(files))
    examples.set_string_custom_property(artifact_properties.PAYLOAD_FORMAT, "FORMAT_TF_EXAMPLE")
    examples.set_string_custom_property(artifact_properties.FILE_FORMAT, splits.FILE_FORMAT)
