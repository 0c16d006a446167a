"""FrameFeatures: frame-level YouTube-8M records → per-video frame features in FoldSplitter's splits.

The frame-level files are read where they lie, by the glob patterns the component is
given as a parameter (nothing is copied: the full frame-level data set is about 1.5 TB),
as VideoExampleGen reads the video-level files. A parameter, not an imported artifact:
open-source Kubeflow Pipelines refuses an importer URI without an object-store scheme,
and with one every consuming task would download the whole frame-level set
(kubernetes/README.md, "Open-source KFP runtime gaps"). `input_fingerprint` (a digest of
the files' names, sizes, times and bytes: common/input_files.py) is a parameter too, so
changed files are re-read rather than taken from the cache.
Each video goes to the split FoldSplitter gave it, so frame-level out-of-fold predictions
are comparable with the video-level ones: a Beam join on video ids (ids and record places
only; frames are never shuffled) gives each frame file a routing table, and each file is
read twice, once for its ids and once for its frames. The output `Examples`
(payload SequenceExample, uncompressed TFRecords) has FoldSplitter's split names
(`fold_0..`, `holdout`, `test`) and one record per video: id, labels, aggregates (mean,
standard deviation, maximum per dimension) and the first `max_frames` quantized frames.
See transforms.py (the component's work) for the policy on bad records, orphans and videos without frames;
`report.json` in the output says what was found.
"""
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_artifacts import Examples

from components.frame_features import executor
from schemas.frame_level import MAX_FRAMES
from schemas.video_level import NUM_CLASSES


class FrameFeaturesSpec(types.ComponentSpec):
    PARAMETERS = {"frame_patterns": ExecutionParameter(type=str), "input_fingerprint": ExecutionParameter(type=str),
                  "num_folds": ExecutionParameter(type=int), "num_classes": ExecutionParameter(type=int),
                  "max_frames": ExecutionParameter(type=int), "max_bad_fraction": ExecutionParameter(type=float)}
    INPUTS = {"split_examples": ChannelParameter(type=Examples)}
    OUTPUTS = {"frame_features": ChannelParameter(type=Examples)}


class FrameFeatures(base_beam_component.BaseBeamComponent):
    SPEC_CLASS = FrameFeaturesSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, frame_patterns: str, split_examples, num_folds: int, input_fingerprint: str = "",
                 num_classes: int = NUM_CLASSES, max_frames: int = MAX_FRAMES, max_bad_fraction: float = 0.01):
        """`frame_patterns`: a JSON list of glob patterns of frame-level TFRecords (labelled
        and test videos alike: each is routed by its id); `max_frames`: frames kept per video
        (aggregates use all); `max_bad_fraction`: the job fails when more frame records than
        this are unusable, or more videos lack frames."""
        super().__init__(spec=FrameFeaturesSpec(
            frame_patterns=frame_patterns, input_fingerprint=input_fingerprint, split_examples=split_examples,
            num_folds=num_folds, num_classes=num_classes, max_frames=max_frames, max_bad_fraction=max_bad_fraction,
            frame_features=types.Channel(type=Examples)))
