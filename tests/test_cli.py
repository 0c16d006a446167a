"""The `y8m` command: generate, score, compile, submit, and its error reporting."""
import json

from schemas.submission import write_submission
from y8m import cli, scoring


def test_generate_then_score_a_perfect_submission(tmp_path, capsys):
    data = tmp_path / "data"
    assert cli.main(["generate", "--output", str(data), "--videos", "50", "--classes", "30", "--shards", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["videos"]["test"] > 0 and summary["classes"] == 30
    labels = scoring.read_labels([str(data / "test*.tfrecord")], 30)
    ids = sorted(labels)
    # Every true label scores above every false one, across videos too: GAP 1.
    class_ids = [list(labels[v]) + [c for c in range(30) if c not in labels[v]][:20 - len(labels[v])] for v in ids]
    scores = [[0.9 - 0.01 * i if i < len(labels[v]) else 0.1 - 0.001 * i for i in range(20)] for v in ids]
    write_submission(str(tmp_path / "perfect.csv"), ids, class_ids, scores)
    assert cli.main(["score", "--submission", str(tmp_path / "perfect.csv"),
                     "--labels", str(data / "test*.tfrecord"), "--classes", "30"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["gap"] == 1.0 and result["hit_at_1"] == 1.0 and result["videos"] == len(ids)


def test_score_error_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,pairs\n")
    code = cli.main(["score", "--submission", str(bad), "--labels", str(tmp_path / "*.tfrecord")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and f"{bad}: line 1: header" in err[0]


def test_unknown_profile_is_one_line(tmp_path, capsys):
    (tmp_path / "x.tfrecord").write_bytes(b"")
    code = cli.main(["run", "--train", str(tmp_path / "x.tfrecord"), "--test", str(tmp_path / "x.tfrecord"),
                     "--output", str(tmp_path / "out"), "--profile", "gigantic"])
    assert code == 2 and "unknown profile 'gigantic'" in capsys.readouterr().err


def test_compile_writes_a_package_and_names_its_tasks(tmp_path, capsys):
    package = tmp_path / "pipeline.yaml"
    code = cli.main(["compile", "--output", str(package), "--train", "/data/train*.tfrecord",
                     "--test", "/data/test*.tfrecord", "--serving-model-dir", "/data/serving_model",
                     "--image", "registry.example/y8m:1"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and package.exists()
    assert {"VideoExampleGen", "L1Trainer-mlp", "Distiller", "Pusher"} <= set(summary["tasks"])


def test_compile_and_submit_errors_are_one_line(tmp_path, capsys):
    code = cli.main(["compile", "--output", str(tmp_path / "p.yaml"), "--train", "/d/x", "--test", "/d/y",
                     "--serving-model-dir", "/d/m", "--beam-runner", "portable"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--job_endpoint" in err[0]
    code = cli.main(["submit", "--host", "http://kfp", "--package", str(tmp_path / "none.yaml"),
                     "--pipeline-root", "minio://b/r"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "y8m compile" in err[0]
