"""VideoExampleGen: the YouTube-8M video-level TFRecords into an `Examples` artifact.

Train and validate files are pooled as the `labelled` split; test files form the `test`
split (their labels, where present, are only ever used for scoring). Every record is
validated (components/example_gen/video_records.py); a bad one fails the run with the
file and record index, and nothing is published. Records whose feature values lie far
outside the format's range (a scaling mistake, another format) are counted: more than
`max_bad_fraction` of them fail the run, fewer are logged as a warning.
"""
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

from components.example_gen import executor
from schemas.video_level import NUM_CLASSES


class VideoExampleGenSpec(types.ComponentSpec):
    PARAMETERS = {"labelled_patterns": ExecutionParameter(type=str), "test_patterns": ExecutionParameter(type=str),
                  # Only part of the cache key: changed files are read again rather than reused.
                  "input_fingerprint": ExecutionParameter(type=str),
                  "num_classes": ExecutionParameter(type=int), "max_bad_fraction": ExecutionParameter(type=float)}
    INPUTS = {}
    OUTPUTS = {"examples": ChannelParameter(type=Examples)}


class VideoExampleGen(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = VideoExampleGenSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, labelled_patterns: str, test_patterns: str, input_fingerprint: str,
                 num_classes: int = NUM_CLASSES, max_bad_fraction: float = 0.01):
        """`*_patterns`: JSON lists of globs; `max_bad_fraction`: the job fails when more
        records than this hold absurd feature values."""
        super().__init__(spec=VideoExampleGenSpec(
            labelled_patterns=labelled_patterns, test_patterns=test_patterns, input_fingerprint=input_fingerprint,
            num_classes=num_classes, max_bad_fraction=max_bad_fraction,
            examples=types.Channel(type=Examples)))
