"""bench/pipeline_speed.py --run: where a finished run's time went, from its metrics.json."""
import json
import os
import subprocess
import sys

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench", "pipeline_speed.py")


def test_a_run_s_time_is_split_into_training_steps_and_everything_else(tmp_path):
    run = {"seconds": 100.0, "pushed_model_dir": None,
           "component_seconds": {"VideoExampleGen": 10.0, "L1Trainer-mlp-fold-0": 30.0, "L1Trainer-mlp-fold-1": 20.0,
                                 "StudentTrainer-0": 25.0, "GapEvaluator": 5.0},
           "training_step_seconds": {"L1Trainer-mlp-fold-0": 24.0, "L1Trainer-mlp-fold-1": 16.0,
                                     "StudentTrainer-0": 20.0}}
    with open(tmp_path / "metrics.json", "w") as out:
        json.dump({"stages": [], "run": run}, out)
    shown = subprocess.run([sys.executable, BENCH, "--run", str(tmp_path)], capture_output=True, text=True,
                           check=True).stdout
    lines = {line.split()[0]: line.split()[1:] for line in shown.splitlines() if line.strip()}
    assert lines["L1Trainer-mlp-fold-0"] == ["30.0", "24.0", "6.0", "80%"]
    assert lines["VideoExampleGen"] == ["10.0", "0.0", "10.0", "0%"]
    assert lines["L1Trainer"] == ["50.0", "40.0", "10.0", "80%"]  # the type's components summed
    assert lines["StudentTrainer"] == ["25.0", "20.0", "5.0", "80%"]
    assert shown.splitlines()[-1] == (
        "run: 100.0 s of wall time; components 90.0 s summed (0.90 x the wall time); inside training steps "
        "60.0 s (60% of the wall time), everything else 30.0 s in components and 10.0 s of wall time outside any")
