"""Synthetic frame-level data: the same videos as the video-level files, in the 2018
SequenceExample layout, whose dequantized frame means reproduce the video-level means."""
import os

import numpy as np
import pytest

from schemas import frame_level, video_level
from y8m import cli, synthetic

CLASSES = 12
MAX_FRAMES = 40


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("frames")
    summary = synthetic.generate(str(output_dir), videos=60, classes=CLASSES, seed=5, shards=2,
                                 frames=True, max_frames=MAX_FRAMES)
    videos = {record.video_id: record for path in sorted(output_dir.glob("*.tfrecord"))
              for record in video_level.read_video_records(str(path), CLASSES)}
    frames = {}
    for path in summary["frame_files"]:
        for _, serialized in video_level.read_records(path):
            record = frame_level.parse_frame_record(serialized, CLASSES)
            frames[record.video_id] = record
    return output_dir, summary, videos, frames


def test_frame_files_mirror_the_video_level_shards(data):
    output_dir, summary, videos, frames = data
    assert sorted(os.listdir(output_dir / "frames")) == sorted(
        name for name in os.listdir(output_dir) if name.endswith(".tfrecord"))
    assert set(frames) == set(videos)
    assert summary["temporal_classes"] == {"burst": [2, 5], "order_pairs": [[3, 4], [6, 7]]}


def test_frame_means_reproduce_the_video_level_record(data):
    _, _, videos, frames = data
    for video_id, record in frames.items():
        video = videos[video_id]
        assert MAX_FRAMES // 2 <= len(record.rgb) <= MAX_FRAMES
        np.testing.assert_array_equal(record.labels, video.labels)
        aggregates = frame_level.aggregate(record)
        # Within quantization error (half a step), the bound of the official formula.
        np.testing.assert_allclose(aggregates["mean_rgb"], video.mean_rgb, rtol=0,
                                   atol=frame_level.DEQUANTIZE_SCALE / 2 + 1e-6)
        np.testing.assert_allclose(aggregates["mean_audio"], video.mean_audio, rtol=0,
                                   atol=frame_level.DEQUANTIZE_SCALE / 2 + 1e-6)


def test_temporal_signatures_are_in_the_frames_not_in_the_means():
    rng = np.random.default_rng(0)
    signatures = synthetic.TemporalSignatures.draw(CLASSES, rng)
    prototypes = signatures.video_level_prototypes(np.ones((CLASSES, video_level.FEATURE_SIZE)))
    assert not prototypes[2].any() and (prototypes[3] == prototypes[4]).all()
    burst = signatures.component(np.array([2]), 100, rng)
    order, reverse = (signatures.component(np.array([c]), 100, rng) for c in (3, 4))
    np.testing.assert_allclose(burst.mean(axis=0), 0.0, atol=1e-9)
    pattern = signatures.bursts[2] / np.linalg.norm(signatures.bursts[2])
    assert np.sum(burst @ pattern > 1.5) == 10  # 10% of the frames
    order_pattern = signatures.orders[(3, 4)]
    assert (order[:50] @ order_pattern).mean() > 0 > (order[50:] @ order_pattern).mean()
    assert (reverse[:50] @ order_pattern).mean() < 0 < (reverse[50:] @ order_pattern).mean()


def test_quantize_to_mean_reaches_saturated_means():
    rng = np.random.default_rng(1)
    mean = np.array([-2.5, -1.99, 0.0, 1.99, 2.0])
    values = mean + rng.normal(0, 0.5, (9, mean.size))
    codes = synthetic.quantize_to_mean(values, mean, rng)
    reachable = np.clip(mean, frame_level.dequantize(0), frame_level.dequantize(255))
    np.testing.assert_allclose(frame_level.dequantize(codes).mean(axis=0), reachable,
                               atol=frame_level.DEQUANTIZE_SCALE / 2 / 9 + 1e-6)


def test_generate_frames_from_the_command_line(tmp_path):
    assert cli.main(["generate", "--output", str(tmp_path), "--videos", "12", "--classes", "8", "--shards", "1",
                     "--frames", "--max-frames", "4"]) == 0
    assert sorted(os.listdir(tmp_path / "frames")) == ["test0000.tfrecord", "train0000.tfrecord",
                                                        "validate0000.tfrecord"]
