"""The LightGBM stack with the original and the extended feature sets on the same L1
predictions: out-of-fold, held-out and test GAP@20 of each, from the latest merged
artifact (PredictionMerger's output) of a finished `y8m run`.

    uv run --frozen python bench/stack_feature_sets.py RUN_DIR [--profile quick]
"""
import argparse
import dataclasses
import json
import tempfile
import types

from tfx.orchestration import metadata

from components import artifact_properties
from components.evaluator import evaluate
from components import l2_features
from components.lgbm_stacker import stacker
from components.lgbm_stacker.settings import FEATURE_SETS
from pipeline.local_runner import metadata_config
from pipeline.profile import load_profile
from schemas.video_level import NUM_CLASSES


def latest_merged(run_dir: str):
    with metadata.Metadata(metadata_config(run_dir)) as store:
        merged = max(store.store.get_artifacts_by_type("y8m_types.MergedPredictions"), key=lambda a: a.id)
    return merged.uri, json.loads(merged.custom_properties[artifact_properties.FEATURE_NAMES].string_value)


def split_labels(sources: dict, chunk_videos: int) -> dict:
    """split → the hard labels of its videos, from the merged rows."""
    return {split: evaluate.label_index_of({video: labels for chunk in source(chunk_videos)
                                            for video, labels in zip(chunk.video_ids, chunk.labels)})
            for split, source in sources.items()}


def stack_with(feature_set: str, sources: dict, labels: dict, merged_names: list[str], profile) -> dict:
    settings = dataclasses.replace(profile.stacker, feature_set=feature_set)
    with tempfile.TemporaryDirectory() as directory:
        predictions = types.SimpleNamespace(uri=directory)
        stacker.stack(sources, merged_names, settings, profile.folds, NUM_CLASSES, predictions, directory)
        return {split: evaluate.score_split(
            f"stack ({feature_set})", split, evaluate.read_top_k(predictions, split),
            labels[split], NUM_CLASSES)["gap"] for split in sources}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--profile", default="quick")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    uri, merged_names = latest_merged(args.run_dir)
    sources = stacker.split_sources(types.SimpleNamespace(uri=uri))
    labels = split_labels(sources, profile.stacker.chunk_videos)
    for feature_set in FEATURE_SETS:
        gaps = stack_with(feature_set, sources, labels, merged_names, profile)
        print(f"{feature_set:9s} ({len(l2_features.feature_names(feature_set, merged_names))} features): "
              + "  ".join(f"{split} GAP {gap:.4f}" for split, gap in gaps.items()), flush=True)


if __name__ == "__main__":
    main()
