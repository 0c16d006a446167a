"""Bad input, through the `y8m` command: every case ends with one line on stderr naming the
file and record (and, for `run`, the log), exit code 2, no traceback on the terminal, and
nothing published: no submission, no metrics, no pushed model, and no LIVE artifact of
the component that failed in ML Metadata. Pipeline cases fail in the first component
that can see the problem."""
import contextlib
import fcntl
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import types

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from cli_checks import assert_progress_only, error_line, y8m
from pipeline import output_lock
from schemas import frame_level, splits, video_level
from schemas.submission import HEADER
from y8m import cli, synthetic

TINY_PROFILE = os.path.join(os.path.dirname(__file__), "tiny_profile.yaml")
CLASSES = 20
PUBLISHED = ("submission.csv", "submission_stack.csv", "metrics.json", "report.html", "serving_model")

# The smallest whole run: one L1 model, a few trees, a student blessed at any GAP (60
# videos teach nothing: every stage scores about the class-prior baseline).
MINIMAL_PROFILE = """
folds: 2
holdout_fraction: 0.2
l1_models:
  - {name: mlp, family: mlp, kwargs: {hidden_size: 8}, training: {batch_size: 32, max_epochs: 1}}
stacker: {n_estimators: 5, num_leaves: 3, min_child_samples: 2, early_stopping_rounds: 2}
student: {family: mlp, kwargs: {hidden_size: 8}, training: {batch_size: 32, max_epochs: 1}}
blessing: {min_gap_ratio: 0.01, min_gap_over_prior: -1}
"""
# A frame-level model only, so that FrameFeatures runs right after FoldSplitter.
FRAMES_PROFILE = """
folds: 2
holdout_fraction: 0.2
l1_models:
  - name: frames_attention
    family: attention_pooling
    kwargs: {max_frames: 4, hidden_size: 8, heads: 2}
    training: {batch_size: 16, max_epochs: 1}
student: {family: mlp, kwargs: {hidden_size: 8}, training: {batch_size: 16, max_epochs: 1}}
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """60 synthetic videos (train, validate, test: one file each; test records carry
    labels) at video and frame level, and the profiles."""
    root = tmp_path_factory.mktemp("data")
    synthetic.generate(str(root), videos=60, classes=CLASSES, seed=3, shards=1, frames=True, max_frames=4)
    (root / "minimal.yaml").write_text(MINIMAL_PROFILE)
    (root / "frames.yaml").write_text(FRAMES_PROFILE)
    test = root / "test0000.tfrecord"
    test_ids = [record.video_id for record in video_level.read_video_records(str(test), CLASSES)]
    train = root / "train0000.tfrecord"
    train_ids = {record.video_id for record in video_level.read_video_records(str(train), CLASSES)}
    assert not {"aaaa", "bbbb", "abcd", "zzzz", "none"} & (train_ids | set(test_ids))  # the ids the cases make
    return types.SimpleNamespace(root=root, train=train, validate=root / "validate0000.tfrecord", test=test,
                                 test_ids=test_ids, frames=root / "frames")


def example(video_id="abcd", labels=(1, 2), rgb=None, audio=None) -> tf.train.Example:
    return video_level.make_example(video_id, labels, np.zeros(video_level.RGB_SIZE) if rgb is None else rgb,
                                    np.zeros(video_level.AUDIO_SIZE) if audio is None else audio)


def write_records(path, records):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record.SerializeToString())
    return path


def run(capfd, output, train, profile=TINY_PROFILE, test=None, extra=()):
    arguments = [argument for path in train for argument in ("--train", path)]
    return y8m(capfd, "run", *arguments, "--test", test, "--output", output, "--profile", profile,
               "--classes", CLASSES, *extra)


def metadata(output) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(output / "metadata" / "metadata.sqlite")
    return metadata_store.MetadataStore(config)


def failed_components_and_their_live_artifacts(output) -> tuple[list[str], list[str]]:
    store = metadata(output)
    failed = [execution for execution in store.get_executions()
              if execution.last_known_state == metadata_store_pb2.Execution.FAILED]
    types_by_id = {execution_type.id: execution_type.name for execution_type in store.get_execution_types()}
    produced = {event.artifact_id for event in store.get_events_by_execution_ids([e.id for e in failed])
                if event.type in (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.PENDING_OUTPUT)}
    live = [artifact.uri for artifact in store.get_artifacts()
            if artifact.id in produced and artifact.state == metadata_store_pb2.Artifact.LIVE]
    return [types_by_id[execution.type_id].rsplit(".", 1)[-1] for execution in failed], live


def assert_nothing_published(output, failed_component=None):
    """No deliverable; with `failed_component`, that component (and no other) failed and left
    no LIVE artifact; without, the run stopped before the pipeline started."""
    for name in PUBLISHED:
        assert not (output / name).exists(), name
    if failed_component is None:
        assert not (output / "metadata").exists()
        return
    failed, live = failed_components_and_their_live_artifacts(output)
    assert failed == [failed_component] and live == []


def run_failure(outcome, output, failed_component=None) -> str:
    """The error line of a failed `y8m run`, checked: it names the log, which holds the traceback."""
    line = error_line(outcome, "run")
    log_path = output / cli.LOG_FILE
    assert line.endswith(f" (log: {log_path})")
    assert "Traceback" in log_path.read_text()
    assert_nothing_published(output, failed_component)
    return line


def values_with(size, index, value):
    values = np.zeros(size)
    values[index] = value
    return values


def without(key):
    record = example()
    del record.features.feature[key]
    return record


def with_feature(key, feature: tf.train.Feature, video_id="abcd"):
    """A record whose `key` holds `feature` (a value list of any kind)."""
    record = example(video_id)
    record.features.feature[key].CopyFrom(feature)
    return record


def floats(*values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def raw_id(video_id: bytes):
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[video_id]))


BAD_RECORDS = {
    "missing id": (without("id"), "missing feature 'id'"),
    "missing mean_audio": (without("mean_audio"), "missing feature 'mean_audio'"),
    "short mean_rgb": (example(rgb=np.zeros(1000)), "'mean_rgb' of video abcd has 1000 values, expected 1024"),
    "long mean_audio": (example(audio=np.zeros(129)), "'mean_audio' of video abcd has 129 values, expected 128"),
    "label beyond the vocabulary": (example(labels=[3, CLASSES]),
                                    f"label {CLASSES} of video abcd is outside the vocabulary 0..{CLASSES - 1}"),
    "negative label": (example(labels=[-1]), "label -1 of video abcd is outside the vocabulary"),
    "NaN feature": (example(rgb=values_with(video_level.RGB_SIZE, 7, np.nan)),
                    "features of video abcd hold NaN or infinite values"),
    "infinite feature": (example(audio=values_with(video_level.AUDIO_SIZE, 0, np.inf)),
                         "features of video abcd hold NaN or infinite values"),
    "labels as floats": (with_feature(video_level.LABELS_KEY, floats(1.0, 2.0)),
                         "'labels' of video abcd holds float values, expected int64"),
    "mean_rgb as int64": (with_feature(video_level.RGB_KEY, tf.train.Feature(
        int64_list=tf.train.Int64List(value=[0] * video_level.RGB_SIZE))),
        "'mean_rgb' of video abcd holds int64 values, expected float"),
    "id as floats": (with_feature(video_level.ID_KEY, floats(7.0)), "'id' holds float values, expected bytes"),
    "id with a comma": (example("ab,c"), "video id 'ab,c' holds a comma (','), which a submission line "
                                         "(VideoId,label score ...) cannot hold"),
    "id with a space": (example("ab c"), "video id 'ab c' holds whitespace (' ')"),
    "id that is not UTF-8": (with_feature(video_level.ID_KEY, raw_id(b"ab\xff")),
                             "video id b'ab\\xff' is not valid UTF-8"),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_a_bad_record_is_named_by_file_and_index(tmp_path, data, capfd, case):
    record, expected = BAD_RECORDS[case]
    bad = write_records(tmp_path / "train_bad.tfrecord", [example("aaaa"), example("bbbb"), record])
    outcome = run(capfd, tmp_path / "out", [bad], test=data.test)
    assert f": error: {bad}: record 2: {expected}" in run_failure(outcome, tmp_path / "out", "VideoExampleGen")


def record_offsets(tfrecords: bytes) -> list[int]:
    """Where each record of a TFRecord file starts: 8-byte length, 4-byte CRC, data, 4-byte CRC."""
    offsets, offset = [], 0
    while offset < len(tfrecords):
        offsets.append(offset)
        offset += 16 + struct.unpack("<Q", tfrecords[offset:offset + 8])[0]
    return offsets


def flipped(tfrecords: bytes, position: int) -> bytes:
    damaged = bytearray(tfrecords)
    damaged[position] ^= 0xFF
    return bytes(damaged)


# name: (good file's bytes, where its records start) -> (the damaged file's bytes, the message after "<file>: ")
DAMAGED_FILES = {
    "empty": lambda good, offsets: (b"", "holds no records"),
    "cut inside a record": lambda good, offsets: (
        good[:offsets[3] + 100],
        f"record 3: the file is cut short (a record at byte {offsets[3]} is incomplete): copy it again"),
    "cut inside a length header": lambda good, offsets: (
        good[:offsets[3] + 5], "record 3: the file is cut short (its last 5 bytes are not a whole record)"),
    "flipped byte": lambda good, offsets: (
        flipped(good, offsets[1] + 40),
        f"record 1: corrupted record at byte {offsets[1] + 12} (its checksum does not match): the file is damaged"),
    "text": lambda good, offsets: (
        b"VideoId,Labels\nabcd,1 2\n" * 20,
        "record 0: not a valid TFRecord file (it does not start with a TFRecord header)"),
    "gzip named .tfrecord": lambda good, offsets: (
        gzip.compress(good),
        "record 0: not a valid TFRecord file: it is gzip-compressed; gunzip it, or rename it to end in .gz"),
}


@pytest.mark.parametrize("case", list(DAMAGED_FILES))
def test_a_damaged_file_says_what_is_wrong(tmp_path, data, capfd, case):
    good = data.train.read_bytes()
    damaged, expected = DAMAGED_FILES[case](good, record_offsets(good))
    bad = tmp_path / "train_damaged.tfrecord"
    bad.write_bytes(damaged)
    outcome = run(capfd, tmp_path / "out", [bad], test=data.test)
    assert f": error: {bad}: {expected}" in run_failure(outcome, tmp_path / "out", "VideoExampleGen")


def test_a_video_twice_in_one_file(tmp_path, data, capfd):
    bad = write_records(tmp_path / "train_twice.tfrecord", [example("aaaa"), example("bbbb"), example("aaaa")])
    line = run_failure(run(capfd, tmp_path / "out", [bad], test=data.test), tmp_path / "out", "VideoExampleGen")
    assert (f"video id 'aaaa' occurs twice in the labelled files ({bad}: record 0 and {bad}: record 2); "
            "every video must occur once") in line


def test_a_video_in_two_files(tmp_path, data, capfd):
    first = write_records(tmp_path / "train_a.tfrecord", [example("aaaa")])
    second = write_records(tmp_path / "train_b.tfrecord", [example("bbbb"), example("aaaa")])
    line = run_failure(run(capfd, tmp_path / "out", [first, second], test=data.test), tmp_path / "out",
                       "VideoExampleGen")
    assert f"video id 'aaaa' occurs twice in the labelled files ({first}: record 0 and {second}: record 1)" in line


def test_a_test_video_among_the_labelled_ones(tmp_path, data, capfd):
    leaked = data.test_ids[3]
    bad = write_records(tmp_path / "train_leak.tfrecord", [example("aaaa"), example(leaked)])
    line = run_failure(run(capfd, tmp_path / "out", [bad], test=data.test), tmp_path / "out", "VideoExampleGen")
    assert (f"video id '{leaked}' is given both as labelled data ({bad}: record 1) and as test data "
            f"({data.test}: record 3); a test video must never be trained on") in line


def test_a_test_video_id_a_submission_cannot_hold_is_refused_before_any_training(tmp_path, data, capfd):
    """Test videos carry the ids of the submission: one with a newline stops the run in
    VideoExampleGen, not after every component has run and the model has been pushed."""
    bad = write_records(tmp_path / "test_bad_id.tfrecord", [example("aaaa", labels=[]), example("b\nb", labels=[])])
    outcome = run(capfd, tmp_path / "out", [data.train], test=bad)
    assert f": error: {bad}: record 1: video id 'b\\nb' holds whitespace ('\\n')" in run_failure(
        outcome, tmp_path / "out", "VideoExampleGen")


def scaled(source, target, factor: float):
    """`source`'s records with every feature value multiplied by `factor`, written to `target`."""
    records = [example(record.video_id, record.labels, record.mean_rgb * factor, record.mean_audio * factor)
               for record in video_level.read_video_records(str(source), CLASSES)]
    return write_records(target, records)


def test_features_1e30_times_too_large_are_refused(tmp_path, data, capfd):
    """Finite but absurd: the 2018 features lie within [-2, 2]. Such a run trained a useless
    student that the blessing passed; now VideoExampleGen counts the records and refuses them."""
    bad = scaled(data.train, tmp_path / "train_scaled.tfrecord", 1e30)
    records = sum(1 for _ in video_level.read_records(str(bad)))
    total = records + len(data.test_ids)
    line = run_failure(run(capfd, tmp_path / "out", [bad], test=data.test), tmp_path / "out", "VideoExampleGen")
    assert (f": error: {records} of {total} video-level records hold feature values beyond ±100, where the 2018 "
            f"features (dequantized bytes) lie within [-2, 2]; first: {bad}: record 0 (largest |value| ") in line
    assert line.split(" (log: ")[0].endswith("were the features scaled, or written in another format? "
                                             "(more than max_bad_fraction 0.01)")


# Runs `y8m` commands in a fresh process; prints each one's exit code and seconds, and which
# frameworks the process imported.
FAST_CHECKS = """
import json, sys, time
from y8m import cli
timings = []
for argv in json.loads(sys.argv[1]):
    started = time.monotonic()
    timings.append([cli.main(argv), time.monotonic() - started])
imported = sorted(name for name in ("tensorflow", "tfx", "apache_beam", "tf_keras") if name in sys.modules)
print(json.dumps({"timings": timings, "imported": imported}))
"""


def test_checks_before_the_frameworks_answer_in_seconds(tmp_path, data):
    """A bad profile, a missing input and an output directory another run holds are refused
    before TensorFlow, TFX or Beam are imported (half a minute on a busy machine): in seconds.
    So are `compile` with a bad profile and `submit` without its package."""
    locked = tmp_path / "locked"
    locked.mkdir()
    profile = tmp_path / "bad.yaml"
    profile.write_text("folds: 1\nl1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\n")
    common = ["--test", str(data.test), "--classes", str(CLASSES)]
    cases = [["run", "--train", str(data.train), "--output", str(tmp_path / "a"), "--profile", str(profile), *common],
             ["run", "--train", str(tmp_path / "none*.tfrecord"), "--output", str(tmp_path / "b"), *common],
             ["run", "--train", str(data.train), "--output", str(locked), *common],
             ["compile", "--output", str(tmp_path / "p.yaml"), "--train", "/d/x", "--test", "/d/y",
              "--serving-model-dir", "/d/m", "--profile", str(profile)],
             ["submit", "--host", "http://kfp", "--package", str(tmp_path / "none.yaml"), "--pipeline-root", "gs://b/r"]]
    with open(locked / output_lock.LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a run into `locked` holds it
        result = subprocess.run([sys.executable, "-c", FAST_CHECKS, json.dumps(cases)], capture_output=True,
                                text=True, timeout=300, env={**os.environ, "TMPDIR": str(tmp_path)})
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 5, result.stderr
    assert "folds must lie in 2..20" in errors[0] and "labelled pattern" in errors[1] and "matches no file" in errors[1]
    assert f"another y8m run is writing to {locked}; wait for it, or give another --output" in errors[2]
    assert errors[3].startswith("y8m compile: error: ") and "folds must lie in 2..20" in errors[3]
    assert errors[4] == f"y8m submit: error: no package at {tmp_path / 'none.yaml'}; write one with `y8m compile`"
    report = json.loads(result.stdout)
    assert report["imported"] == []
    assert [code for code, _ in report["timings"]] == [2] * 5
    assert max(seconds for _, seconds in report["timings"]) < 5, report["timings"]


def test_a_glob_that_matches_nothing(tmp_path, data, capfd):
    outcome = run(capfd, tmp_path / "out", [tmp_path / "nothing*.tfrecord"], test=data.test)
    assert f"labelled pattern '{tmp_path}/nothing*.tfrecord' matches no file" in run_failure(outcome, tmp_path / "out")


def test_a_directory_as_train(tmp_path, data, capfd):
    outcome = run(capfd, tmp_path / "out", [data.root], test=data.test)
    assert (f"labelled pattern '{data.root}' matches the directory {data.root}; "
            f"give its files, e.g. '{data.root}/*.tfrecord'") in run_failure(outcome, tmp_path / "out")


BAD_PROFILES = {
    "unknown family": ("l1_models:\n  - {name: a, family: transformer9000}\nstudent: {family: mlp}\n",
                       "l1_models[0]: unknown model family 'transformer9000'"),
    "negative epoch count": ("l1_models:\n  - {name: a, family: mlp, training: {max_epochs: -3}}\n"
                             "student: {family: mlp}\n", "l1_models[0]: training: 'max_epochs' must be at least 1"),
    "python tag": ("!!python/object/apply:os.system ['touch {marker}']\n",
                   "not valid YAML: line 1, column 1: could not determine a constructor for the tag "
                   "'tag:yaml.org,2002:python/object/apply:os.system'"),
    "a thousand folds": ("folds: 1000\nl1_models:\n  - {name: a, family: mlp}\nstudent: {family: mlp}\n",
                         "folds must lie in 2..20 (5 is the recipe's;"),
    "model name not an identifier": ("l1_models:\n  - {name: ../mlp, family: mlp}\nstudent: {family: mlp}\n",
                                     "l1_models[0]: name '../mlp' must be lower-case letters, digits and '_'"),
}


@pytest.mark.parametrize("case", list(BAD_PROFILES))
def test_a_bad_profile_stops_the_run_before_any_component(tmp_path, data, capfd, case):
    text, expected = BAD_PROFILES[case]
    marker = tmp_path / "code_ran"
    profile = tmp_path / "bad.yaml"
    profile.write_text(text.replace("{marker}", str(marker)))
    outcome = run(capfd, tmp_path / "out", [data.train], profile=profile, test=data.test)
    assert f": error: {profile}: {expected}" in run_failure(outcome, tmp_path / "out")
    assert not marker.exists()


def frame_run(capfd, output, data, bad):
    frame_arguments = ["--frame-train", data.frames / "train*.tfrecord", "--frame-train",
                       data.frames / "validate*.tfrecord", "--frame-train", bad,
                       "--frame-test", data.frames / "test*.tfrecord"]
    return run(capfd, output, [data.train, data.validate], profile=data.root / "frames.yaml", test=data.test,
               extra=frame_arguments)


def frames(count: int, rgb_bytes: int = video_level.RGB_SIZE):
    return np.zeros((count, rgb_bytes), np.uint8), np.zeros((count, video_level.AUDIO_SIZE), np.uint8)


# name: (a frame-level record, why it is unusable). One bad record among the 60 good
# ones is more than FrameFeatures' max_bad_fraction (1%).
BAD_FRAME_RECORDS = {
    "frame of the wrong byte length": (frame_level.make_sequence_example("abcd", [1], *frames(2, 1000)),
                                       "frame 0 of 'rgb' of video abcd has 1000 bytes, expected 1024 bytes"),
    "video without frames": (frame_level.make_sequence_example("abcd", [1], *frames(0)),
                             "video abcd has no frames"),
    "no video-level record": (frame_level.make_sequence_example("zzzz", [1], *frames(2)),
                              "video zzzz has no video-level record"),
    "id with a comma": (frame_level.make_sequence_example("ab,c", [1], *frames(2)),
                        "video id 'ab,c' holds a comma (','), which a submission line (VideoId,label score ...) "
                        "cannot hold"),
}


@pytest.mark.parametrize("case", list(BAD_FRAME_RECORDS))
def test_a_bad_frame_level_record_beyond_the_threshold(tmp_path, data, capfd, case):
    record, reason = BAD_FRAME_RECORDS[case]
    bad = write_records(tmp_path / "frames_bad.tfrecord", [record])
    output = tmp_path / "out"
    line = run_failure(frame_run(capfd, output, data, bad), output, "FrameFeatures")
    assert (f"1 of 61 frame-level records are unusable (more than max_bad_fraction 0.01); in {bad} (1); "
            f"first: {bad}: record 0: {reason} (the log holds the report)") in line
    assert "frame-level report: " in (output / cli.LOG_FILE).read_text()


def test_a_frame_level_video_twice_names_both_records(tmp_path, data, capfd):
    (frame_file,) = data.frames.glob("test*.tfrecord")
    index, serialized = next(video_level.read_records(str(frame_file)))
    video_id = frame_level.read_video_id(serialized)
    bad = write_records(tmp_path / "frames_again.tfrecord", [frame_level.make_sequence_example("zzzz", [1], *frames(1)),
                                                             tf.train.SequenceExample.FromString(serialized)])
    output = tmp_path / "out"
    line = run_failure(frame_run(capfd, output, data, bad), output, "FrameFeatures")
    first, second = sorted([f"{frame_file}: record {index}", f"{bad}: record 1"])
    assert (f": error: video id '{video_id}' occurs twice in the frame-level files ({first} and {second}); "
            "every video must occur once") in line


def test_a_failing_component_is_one_line_naming_the_log(tmp_path, data, capfd):
    """Not the input's fault: the component cannot write its output (a file where its
    directory goes). Exit code 1; the line names the component and the log."""
    output = tmp_path / "out"
    blocked = output / "pipeline_root" / "VideoExampleGen" / "examples"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("")
    line = error_line(run(capfd, output, [data.train], test=data.test), "run", code=1)
    assert ": error: component VideoExampleGen failed: FailedPreconditionError: " in line
    assert line.endswith(f"; a bug, or a problem of this machine (traceback: {output / cli.LOG_FILE})")
    assert "Traceback" in (output / cli.LOG_FILE).read_text()
    assert_nothing_published(output, "VideoExampleGen")


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data):
    """A whole run whose test file carries labels, with one labelled video without labels."""
    root = tmp_path_factory.mktemp("run")
    unlabelled = write_records(root / "train_unlabelled.tfrecord", [example("none", labels=[])])
    output = root / "out"
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli.main([str(argument) for argument in (
            "run", "--train", data.train, "--train", data.validate, "--train", unlabelled, "--test", data.test,
            "--output", output, "--profile", data.root / "minimal.yaml", "--classes", CLASSES)])
    return types.SimpleNamespace(code=code, err=err.getvalue().splitlines(), out=out.getvalue(), output=output)


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_a_run_shows_progress_only(finished_run):
    assert finished_run.code == 0
    assert_progress_only(finished_run.err)
    assert json.loads(finished_run.out)["pushed_model"]
    assert (finished_run.output / cli.LOG_FILE).exists()


def video_ids(files) -> set[str]:
    dataset = tf.data.TFRecordDataset(sorted(files), compression_type="GZIP")
    return {tf.train.Example.FromString(record).features.feature["id"].bytes_list.value[0].decode()
            for record in dataset.as_numpy_iterator()}


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_test_labels_are_scored_never_trained_on(finished_run, data):
    root = finished_run.output / "pipeline_root"
    (split_examples,) = root.glob("FoldSplitter/split_examples/*")
    trained = {name: video_ids(split_examples.glob(f"Split-{name}/*"))
               for name in splits.fold_split_names(2) + [splits.HOLDOUT]}
    (soft_labels,) = root.glob("SoftLabelIndexer/soft_labels/*")
    trained["soft labels"] = video_ids(soft_labels.glob("Split-*/*"))
    test_ids = set(data.test_ids)
    assert all(ids and not ids & test_ids for ids in trained.values()), trained
    assert video_ids(split_examples.glob(f"Split-{splits.TEST}/*")) == test_ids
    with open(finished_run.output / "metrics.json") as source:
        scored_on_test = [stage for stage in json.load(source)["stages"] if stage["split"] == splits.TEST]
    assert scored_on_test and all(stage["videos"] == len(test_ids) for stage in scored_on_test)


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_metrics_say_which_blessing_rule_decided(finished_run):
    with open(finished_run.output / "metrics.json") as source:
        report = json.load(source)
    student = next(stage["gap"] for stage in report["stages"]
                   if stage["kind"] == "student" and stage["split"] == splits.HOLDOUT)
    blessing = report["blessing"]
    assert blessing["blessed"] and blessing["decided_by"] == "both" and blessing["min_gap_over_prior"] == -1
    assert 0 < blessing["class_prior_gap"] < 1
    assert blessing["reason"] == (f"student held-out GAP {student:.4f} >= class-prior baseline held-out GAP "
                                  f"{blessing['class_prior_gap']:.4f} + -1; student held-out GAP {student:.4f} >= "
                                  f"0.01 x best L1 held-out GAP {blessing['reason'].rsplit(' ', 1)[1]}")


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_labelled_videos_without_labels_are_counted(finished_run):
    counted = "y8m.example_gen: labelled videos without any label: 1 (they train as negatives of every class)"
    assert any(counted in line for line in finished_run.err)
    assert counted in (finished_run.output / cli.LOG_FILE).read_text()


def predict(capfd, tmp_path, model, data_file):
    return y8m(capfd, "predict", "--model", model, "--data", data_file, "--output", tmp_path / "predicted.csv")


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_predict_needs_a_saved_model(tmp_path, finished_run, data, capfd):
    model = json.loads(finished_run.out)["pushed_model"]
    line = error_line(predict(capfd, tmp_path, finished_run.output / "serving_model", data.test), "predict")
    assert line.endswith(f"{finished_run.output / 'serving_model'} holds no SavedModel (saved_model.pb); "
                         f"did you mean {model}?")
    line = error_line(predict(capfd, tmp_path, data.root, data.test), "predict")
    assert "give a directory the Pusher wrote" in line
    assert not (tmp_path / "predicted.csv").exists()


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_predict_refuses_a_damaged_saved_model(tmp_path, finished_run, data, capfd):
    damaged = tmp_path / "model"
    shutil.copytree(json.loads(finished_run.out)["pushed_model"], damaged)
    graph = damaged / "saved_model.pb"
    graph.write_bytes(graph.read_bytes()[:graph.stat().st_size // 2])
    line = error_line(predict(capfd, tmp_path, damaged, data.test), "predict")
    assert line.endswith(f"{graph} is not a SavedModel with a 'serving_default' signature (a damaged file, or not a "
                         "model `y8m run` pushed): copy or push the model again")
    assert not (tmp_path / "predicted.csv").exists()


def test_predict_refuses_a_saved_model_of_another_kind(tmp_path, data, capfd):
    """A valid SavedModel with a default signature, but not the pushed model's: refused
    before the job starts."""
    module = tf.Module()
    module.scale = tf.Variable(2.0)
    module.serve = tf.function(lambda x: {"y": module.scale * x},
                               input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    other = tmp_path / "other_model"
    tf.saved_model.save(module, str(other), signatures={"serving_default": module.serve})
    line = error_line(predict(capfd, tmp_path, other, data.test), "predict")
    assert line.startswith(f"y8m predict: error: {other / 'saved_model.pb'}: its 'serving_default' "
                           "signature takes ['x'] and returns ['y'], not a pushed model's")
    assert line.endswith("not a pushed model's (serialized Examples 'examples' in; class_ids, probabilities, "
                         "scores, video_id out): give a directory the Pusher wrote, e.g. OUTPUT/serving_model/<version>")
    assert not (tmp_path / "predicted.csv").exists()


@pytest.mark.e2e  # reads a whole run's outputs (finished_run)
def test_predict_names_a_duplicate_video(tmp_path, finished_run, data, capfd):
    twice = write_records(tmp_path / "twice.tfrecord", [example("aaaa"), example("bbbb"), example("aaaa")])
    line = error_line(predict(capfd, tmp_path, json.loads(finished_run.out)["pushed_model"], twice), "predict")
    assert f"video id 'aaaa' occurs twice in the data files ({twice}: record 0 and {twice}: record 2)" in line
    assert os.listdir(tmp_path) == ["twice.tfrecord"]  # no submission, and no temporary files of the job


def with_row(rows, index, row):
    return rows[:index] + [row] + rows[index + 1:]


# name: (test ids, a good file's rows) -> (the bad file's lines, the message after "<file>: ").
# Scored against the full vocabulary (3862 classes).
BAD_SUBMISSIONS = {
    "no header": lambda ids, rows: (
        rows, f"line 1: header is '{rows[0]}', expected 'VideoId,LabelConfidencePairs'"),
    "duplicate video": lambda ids, rows: (
        [HEADER] + rows + rows[:1], f"line {len(rows) + 2}: VideoId '{ids[0]}' already given on line 2"),
    "non-numeric score": lambda ids, rows: (
        [HEADER] + with_row(rows, 0, f"{ids[0]},1 high"), "line 2: score 'high' is not a number"),
    "unknown class": lambda ids, rows: (
        [HEADER] + with_row(rows, 1, f"{ids[1]},3862 0.5"),
        f"line 3: class id 3862 of '{ids[1]}' is outside the vocabulary 0..3861"),
    "more than 20 pairs": lambda ids, rows: (
        [HEADER] + with_row(rows, 0, f"{ids[0]}," + " ".join(f"{c} 0.{c + 10}" for c in range(21))),
        f"line 2: 21 label/score pairs for '{ids[0]}', at most 20 are scored: keep each video's best 20"),
    "missing video": lambda ids, rows: ([HEADER] + rows[:-1], f"1 labelled videos are missing, e.g. {ids[-1]}"),
}


@pytest.mark.parametrize("case", list(BAD_SUBMISSIONS))
def test_a_bad_submission_is_named_by_line(tmp_path, data, capfd, monkeypatch, case):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the command's log goes
    lines, expected = BAD_SUBMISSIONS[case](data.test_ids, [f"{video_id},1 0.5" for video_id in data.test_ids])
    submission = tmp_path / "submission.csv"
    submission.write_text("\n".join(lines) + "\n")
    outcome = y8m(capfd, "score", "--submission", submission, "--labels", data.test)
    assert error_line(outcome, "score") == f"y8m score: error: {submission}: {expected}"
    assert os.listdir(tmp_path) == ["submission.csv"]  # the log of a bad-input failure is removed
