import collections

import pytest

from components.fold_splitter import folds
from common.errors import UserError

IDS = [f"{i:04x}" for i in range(20000)]


def test_fold_of_is_a_pure_function_of_the_id():
    assert [folds.fold_of(v, 5, 0.1) for v in IDS[:100]] == [folds.fold_of(v, 5, 0.1) for v in IDS[:100]]
    assert folds.fold_of("abcd", 5, 0.1, seed=0) == folds.fold_of("abcd", 5, 0.1, seed=0)


def test_folds_are_balanced_and_holdout_has_its_fraction():
    counts = collections.Counter(folds.fold_of(v, 5, 0.1) for v in IDS)
    assert counts[folds.HOLDOUT] / len(IDS) == pytest.approx(0.1, abs=0.01)
    for fold in range(5):
        assert counts[fold] / len(IDS) == pytest.approx(0.18, abs=0.01)
    assert set(counts) == {folds.HOLDOUT, 0, 1, 2, 3, 4}


def test_split_names_and_validation():
    assert folds.split_names(3) == ["fold_0", "fold_1", "fold_2", "holdout", "test"]
    assert folds.split_of(folds.HOLDOUT) == "holdout" and folds.split_of(2) == "fold_2"
    with pytest.raises(UserError):
        folds.validate(1, 0.1)
    with pytest.raises(UserError):
        folds.validate(5, 0.0)
