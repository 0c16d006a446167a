"""FrameFeatures: frame-level YouTube-8M records → per-video frame features in FoldSplitter's splits.

The frame-level files are read where they lie, by the glob patterns the component is
given as a parameter (nothing is copied: the full frame-level data set is about 1.5 TB),
as VideoExampleGen reads the video-level files. A parameter, not an imported artifact:
open-source Kubeflow Pipelines refuses an importer URI without an object-store scheme,
and with one every consuming task would download the whole frame-level set
(kubernetes/README.md, "Open-source KFP runtime gaps"). `input_fingerprint` (a digest of
the files' names, sizes and times) is a parameter too, so changed files are re-read
rather than taken from the cache.
Each video goes to the split FoldSplitter gave it, so frame-level out-of-fold predictions
are comparable with the video-level ones: a Beam join on video ids (ids and record places
only; frames are never shuffled) gives each frame file a routing table, and each file is
read twice, once for its ids and once for its frames. The output `Examples`
(payload SequenceExample, uncompressed TFRecords) has FoldSplitter's split names
(`fold_0..`, `holdout`, `test`) and one record per video: id, labels, aggregates (mean,
standard deviation, maximum per dimension) and the first `max_frames` quantized frames.
See transforms.py for the policy on bad records, orphans and videos without frames;
`report.json` in the output says what was found.
"""
import json
import os

import apache_beam as beam
import tensorflow as tf
from tfx.dsl.component.experimental.annotations import (BeamComponentParameter, InputArtifact,
                                                        OutputArtifact, Parameter)
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import Examples

from components import artifact_properties
from components.frame_features import transforms
from schemas import splits
from schemas.frame_level import MAX_FRAMES
from schemas.video_level import NUM_CLASSES
from common.errors import UserError, unwrapped_input_errors
from common.input_files import expand_patterns

PAYLOAD_FORMAT = "FORMAT_TF_SEQUENCE_EXAMPLE"
REPORT_FILE = "report.json"


@component(use_beam=True)
def FrameFeatures(
    frame_patterns: Parameter[str],
    split_examples: InputArtifact[Examples],
    frame_features: OutputArtifact[Examples],
    input_fingerprint: Parameter[str] = "",
    num_folds: Parameter[int] = 5,
    num_classes: Parameter[int] = NUM_CLASSES,
    max_frames: Parameter[int] = MAX_FRAMES,
    max_bad_fraction: Parameter[float] = 0.01,
    beam_pipeline: BeamComponentParameter[beam.Pipeline] = None,
):
    """`frame_patterns`: a JSON list of glob patterns of frame-level TFRecords (labelled
    and test videos alike: each is routed by its id); `max_frames`: frames kept per video (aggregates use all); `max_bad_fraction`: the
    job fails when more frame records than this are unusable, or more videos lack frames."""
    if max_frames < 1:
        raise UserError(f"max_frames must be at least 1, got {max_frames}")
    if not 0.0 <= max_bad_fraction < 1.0:
        raise UserError(f"max_bad_fraction must lie in [0, 1), got {max_bad_fraction}")
    names = splits.pipeline_split_names(num_folds)
    files = expand_patterns(json.loads(frame_patterns), "frame-level")
    video_splits = {name: splits.split_files_pattern(split_examples, name) for name in names}
    prefixes = {name: splits.split_prefix(frame_features, name) for name in names}
    report_path = os.path.join(frame_features.uri, REPORT_FILE)
    with unwrapped_input_errors(), beam_pipeline as pipeline:
        records, _ = pipeline | "AggregateFrames" >> transforms.AggregateFrames(
            files, video_splits, num_classes, max_frames, max_bad_fraction, report_path)
        _ = records | "WriteSplits" >> transforms.WriteSplits(prefixes, splits.FRAME_TFRECORD_SUFFIX)
    with tf.io.gfile.GFile(report_path) as source:
        summary = json.load(source)
    artifact_properties.set_split_names(frame_features, names)
    frame_features.set_string_custom_property(artifact_properties.PAYLOAD_FORMAT, PAYLOAD_FORMAT)
    frame_features.set_string_custom_property(artifact_properties.FILE_FORMAT, splits.FRAME_FILE_FORMAT)
    frame_features.set_int_custom_property(artifact_properties.MAX_FRAMES, max_frames)
    frame_features.set_string_custom_property(artifact_properties.FILE_PATTERNS, frame_patterns)
    for key in artifact_properties.FRAME_REPORT_COUNTS:
        frame_features.set_int_custom_property(key, summary[key])
