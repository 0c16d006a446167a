"""InputFingerprint's work: a digest of what the input files hold (common/input_files.py)."""
import json

from common.input_files import expand_patterns, fingerprint

NO_FILES = "[]"


def input_fingerprints(labelled_patterns: str, test_patterns: str, frame_patterns: str = NO_FILES) -> dict:
    """`*_patterns`: JSON lists of globs. The fingerprints digest every matched file's
    identity (common/input_files.py `file_identity`); `frame_fingerprint` is "" without
    frame-level files. A pattern matching nothing fails the run here, before anything is read."""
    video_files = (expand_patterns(json.loads(labelled_patterns), "labelled")
                   + expand_patterns(json.loads(test_patterns), "test"))
    frame_files = json.loads(frame_patterns)
    return {"video_fingerprint": fingerprint(video_files),
            "frame_fingerprint": fingerprint(expand_patterns(frame_files, "frame-level")) if frame_files else ""}
