"""What training on the K most frequent classes costs: one L1 config trained on folds
1..4 of a finished run's FoldSplitter output and validated on fold 0 (GAP@20 over every
true label), for several K, in the same run.

    uv run --frozen python bench/class_subsets.py RUN_DIR [--top 0 2000 1000 500]
"""
import argparse
import glob
import os
import time
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from components.l1_trainer import trainer  # noqa: E402
from models import data  # noqa: E402
from models.model_config import L1ModelConfig  # noqa: E402
from schemas.video_level import NUM_CLASSES  # noqa: E402

CONFIG = {"name": "mlp", "family": "mlp", "kwargs": {"hidden_size": 1024, "dropout": 0.3},
          "training": {"batch_size": 128, "max_epochs": 12, "learning_rate": 0.01, "early_stopping_patience": 2}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", help="the --output of a finished `y8m run`")
    parser.add_argument("--top", type=int, nargs="+", default=[0, 2000, 1000, 500])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    split_dirs = sorted(glob.glob(f"{args.run_dir}/pipeline_root/FoldSplitter/split_examples/*"))
    if not split_dirs:
        raise SystemExit(f"no FoldSplitter output under {args.run_dir}")
    examples = types.SimpleNamespace(uri=split_dirs[-1])
    files = trainer.split_files(examples, L1ModelConfig.from_dict(CONFIG), args.folds)
    print(f"{data.count_records(files.folds)} videos; validation fold 0: {data.count_records(files.folds[:1])}")
    print("top_classes  parameters  fold-0 GAP@20  seconds")
    for top in args.top:
        config = L1ModelConfig.from_dict({**CONFIG, "top_classes": top})
        started = time.time()
        model, summary = trainer.train_one_fold(config, files, 0, NUM_CLASSES, log_dir=None)
        print(f"{top or 'all':>11}  {model.count_params():>10,}  {summary['best_val_gap']:>13.4f}  "
              f"{time.time() - started:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
