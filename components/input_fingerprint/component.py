"""InputFingerprint: what the input files hold, read when the run starts.

The first task of the Kubeflow package, never taken from KFP's cache. Its outputs reach
VideoExampleGen and FrameFeatures as parameters, which KFP's cache key holds (its values,
not the ids of artifacts: kubeflow/pipelines `backend/src/v2/cacheutils/cache.go`
`GenerateCacheKey`): unchanged files keep every later task in the cache, and a changed
file re-runs everything that read it. TFX's FileBasedExampleGen does this in a driver
(`tfx/orchestration/kubeflow/v2/file_based_example_gen/driver.py`) that open-source KFP
never runs (tensorflow/tfx#6722); here it is an ordinary task.
"""
from typing import TypedDict

from tfx.dsl.component.experimental.annotations import Parameter
from tfx.dsl.component.experimental.decorators import component

from components.input_fingerprint.fingerprint import NO_FILES, input_fingerprints


class Fingerprints(TypedDict):
    video_fingerprint: str
    frame_fingerprint: str


# The one component of the decorator form (docs/design.md, "Component shape"): TFX 1.21
# compiles a decorated function's return values, and only those, to output parameters,
# which KFP's cache key holds by value.
@component
def InputFingerprint(
    labelled_patterns: Parameter[str],
    test_patterns: Parameter[str],
    frame_patterns: Parameter[str] = NO_FILES,
) -> Fingerprints:
    """`*_patterns`: JSON lists of globs (components/input_fingerprint/fingerprint.py)."""
    return input_fingerprints(labelled_patterns, test_patterns, frame_patterns)
