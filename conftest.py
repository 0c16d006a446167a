"""Test-wide settings: Keras 2 via tf_keras, quiet TensorFlow, deterministic local Beam."""
import os

# Before TensorFlow is imported anywhere (tfx_stack: Keras 3 vs tf_keras).
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import pathlib

import pytest

SHARED_DATA = pathlib.Path(__file__).resolve().parent.parent / "shared" / "data" / "youtube8m_samples"


def pytest_configure(config):
    from absl import flags
    flags.FLAGS.mark_as_parsed()


def pytest_collection_modifyitems(items):
    """The tiers are disjoint (pyproject.toml): a test marked both `e2e` and `slow` would run
    in both CI steps, so it is refused at collection."""
    both = [item.nodeid for item in items if item.get_closest_marker("e2e") and item.get_closest_marker("slow")]
    if both:
        raise pytest.UsageError(f"tests marked both e2e and slow (pick one tier): {both}")


@pytest.fixture(scope="session")
def real_shards():
    """The 40 real 2018 video-level shards (slow tests only)."""
    shard_dir = pathlib.Path(os.environ.get("Y8M_SAMPLES", SHARED_DATA)) / "video_level_2018_validate"
    shards = sorted(shard_dir.glob("validate*.tfrecord"))
    if len(shards) != 40:
        pytest.skip(f"real YouTube-8M shards not found under {shard_dir}")
    return [str(p) for p in shards]
