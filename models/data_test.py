import numpy as np

from models import data


def test_targets_densify_exactly():
    features = np.zeros((3, 4), np.float32)
    ids, weights = data.padded([np.array([0, 2]), np.array([], np.int64), np.array([4])],
                               [np.array([0.5, 1.0]), np.array([]), np.array([0.25])])
    assert ids.tolist() == [[0, 2], [-1, -1], [4, -1]]
    (_, dense), = list(data.target_dataset(features, ids, weights, 5, batch_size=3, seed=0, shuffle=False))
    np.testing.assert_allclose(dense.numpy(), [[0.5, 0, 1.0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0.25]])


def test_mixed_targets_blend_soft_and_hard():
    videos = data.VideoSet(["a"], np.zeros((1, 4), np.float32), [np.array([1, 3])],
                           [np.array([0, 1])], [np.array([0.2, 0.6], np.float32)])
    (class_ids,), (weights,) = data.mixed_targets(videos, 0.25)
    assert class_ids.tolist() == [0, 1, 3]
    # 0.25·soft + 0.75·hard: class 0 soft only, class 1 both, class 3 hard only.
    np.testing.assert_allclose(weights, [0.05, 0.25 * 0.6 + 0.75, 0.75])
