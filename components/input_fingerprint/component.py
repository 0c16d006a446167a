"""InputFingerprint: what the input files hold, read when the run starts.

The first task of the Kubeflow package, never taken from KFP's cache. Its outputs reach
VideoExampleGen and FrameFeatures as parameters, which KFP's cache key holds (its values,
not the ids of artifacts: kubeflow/pipelines `backend/src/v2/cacheutils/cache.go`
`GenerateCacheKey`): unchanged files keep every later task in the cache, and a changed
file re-runs everything that read it. TFX's FileBasedExampleGen does this in a driver
(`tfx/orchestration/kubeflow/v2/file_based_example_gen/driver.py`) that open-source KFP
never runs (tensorflow/tfx#6722); here it is an ordinary task.
"""
import json
from typing import TypedDict

from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component

from common.input_files import expand_patterns, fingerprint

NO_FILES = "[]"


class Fingerprints(TypedDict):
    video_fingerprint: str
    frame_fingerprint: str


@component
def InputFingerprint(
    labelled_patterns: Parameter[str],
    test_patterns: Parameter[str],
    frame_patterns: Parameter[str] = NO_FILES,
) -> Fingerprints:
    """`*_patterns`: JSON lists of globs. The fingerprints digest every matched file's
    identity (common/input_files.py `file_identity`); `frame_fingerprint` is "" without
    frame-level files. A pattern matching nothing fails the run here, before anything is read."""
    video_files = (expand_patterns(json.loads(labelled_patterns), "labelled")
                   + expand_patterns(json.loads(test_patterns), "test"))
    frame_files = json.loads(frame_patterns)
    return {"video_fingerprint": fingerprint(video_files),
            "frame_fingerprint": fingerprint(expand_patterns(frame_files, "frame-level")) if frame_files else ""}
