"""InputFingerprint: its spec, and its work on tiny files."""
import json
import os

import pytest
from tfx import types

from common.errors import InvalidInputError
from components.input_fingerprint.component import InputFingerprint
from components.input_fingerprint.fingerprint import input_fingerprints


def test_the_component_is_wired_as_its_spec_says():
    component = InputFingerprint(labelled_patterns='["train*"]', test_patterns='["test*"]', frame_patterns="[]")
    assert component.id == "InputFingerprint"
    assert component.exec_properties == {"labelled_patterns": '["train*"]', "test_patterns": '["test*"]',
                                         "frame_patterns": "[]"}
    assert not component.inputs
    assert {key: channel.type for key, channel in component.outputs.items()} == {
        "video_fingerprint": types.standard_artifacts.String, "frame_fingerprint": types.standard_artifacts.String}


def test_the_fingerprints_change_with_the_bytes_and_only_with_them(tmp_path):
    for name in ("train0.tfrecord", "test0.tfrecord", "frames0.tfrecord"):
        (tmp_path / name).write_bytes(b"abcd")
    patterns = (json.dumps([str(tmp_path / "train*")]), json.dumps([str(tmp_path / "test*")]))
    before = input_fingerprints(*patterns, json.dumps([str(tmp_path / "frames*")]))
    assert input_fingerprints(*patterns, json.dumps([str(tmp_path / "frames*")])) == before
    assert input_fingerprints(*patterns)["frame_fingerprint"] == ""
    stat = os.stat(tmp_path / "train0.tfrecord")
    (tmp_path / "train0.tfrecord").write_bytes(b"abce")  # same name and size, its time put back
    os.utime(tmp_path / "train0.tfrecord", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = input_fingerprints(*patterns, json.dumps([str(tmp_path / "frames*")]))
    assert after["video_fingerprint"] != before["video_fingerprint"]
    assert after["frame_fingerprint"] == before["frame_fingerprint"]


def test_a_pattern_matching_nothing_fails_here(tmp_path):
    with pytest.raises(InvalidInputError, match="labelled pattern .* matches no file"):
        input_fingerprints(json.dumps([str(tmp_path / "none*")]), "[]")
