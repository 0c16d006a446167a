"""Bad input ends `y8m run` with one line naming the file and record, exit code 2, and
nothing published."""
import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from schemas import video_level
from y8m import cli, synthetic

TINY_PROFILE = os.path.join(os.path.dirname(__file__), "tiny_profile.yaml")


@pytest.fixture(scope="module")
def good_data(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("good")
    synthetic.generate(str(data_dir), videos=60, classes=20, seed=3, shards=1)
    return data_dir


def write_records(path, examples):
    with tf.io.TFRecordWriter(str(path)) as writer:
        for example in examples:
            writer.write(example if isinstance(example, bytes) else example.SerializeToString())


def good_example(video_id="abcd", labels=(1, 2)):
    return video_level.make_example(video_id, labels, np.zeros(1024), np.zeros(128))


def run_cli(tmp_path, good_data, train_glob, capsys):
    output = tmp_path / "out"
    code = cli.main(["run", "--train", str(train_glob), "--test", str(good_data / "test*.tfrecord"),
                     "--output", str(output), "--profile", TINY_PROFILE, "--classes", "20"])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err, output


def assert_nothing_published(output):
    # ExampleGen failed: no example artifact may exist beyond the failed execution's scratch.
    assert not glob.glob(f"{output}/pipeline_root/VideoExampleGen/examples/*/Split-labelled/*.gz")
    assert not os.path.exists(output / "metrics.json")


@pytest.mark.parametrize("bad_record, expected", [
    (video_level.make_example("abcd", [1], np.zeros(1000), np.zeros(128)), "'mean_rgb' of video abcd has 1000 values"),
    (video_level.make_example("abcd", [25], np.zeros(1024), np.zeros(128)), "label 25 of video abcd is outside"),
    (tf.train.Example(), "missing feature 'id'"),
])
def test_bad_record_names_file_and_record(tmp_path, good_data, capsys, bad_record, expected):
    bad_file = tmp_path / "train_bad.tfrecord"
    write_records(bad_file, [good_example("aaaa"), good_example("bbbb"), bad_record])
    code, err, output = run_cli(tmp_path, good_data, bad_file, capsys)
    assert code == 2
    assert len(err) == 1, err
    assert f"{bad_file}: record 2: " in err[0] and expected in err[0]
    assert "Traceback" not in err[0]
    assert_nothing_published(output)


def test_missing_feature_mean_rgb(tmp_path, good_data, capsys):
    example = good_example()
    del example.features.feature["mean_rgb"]
    bad_file = tmp_path / "train_bad.tfrecord"
    write_records(bad_file, [example])
    code, err, _ = run_cli(tmp_path, good_data, bad_file, capsys)
    assert code == 2 and "record 0: missing feature 'mean_rgb'" in err[-1]


def test_not_a_tfrecord(tmp_path, good_data, capsys):
    bad_file = tmp_path / "train_text.tfrecord"
    bad_file.write_text("VideoId,Labels\nabcd,1 2\n" * 20)
    code, err, output = run_cli(tmp_path, good_data, bad_file, capsys)
    assert code == 2 and f"{bad_file}: record 0: not a valid TFRecord file" in err[-1]
    assert_nothing_published(output)


def test_glob_matching_nothing(tmp_path, good_data, capsys):
    code, err, _ = run_cli(tmp_path, good_data, tmp_path / "nothing*.tfrecord", capsys)
    assert code == 2 and "matches no file" in err[-1]


def test_empty_file(tmp_path, good_data, capsys):
    empty = tmp_path / "train_empty.tfrecord"
    empty.write_bytes(b"")
    code, err, _ = run_cli(tmp_path, good_data, empty, capsys)
    assert code == 2 and "holds no records" in err[-1]
