"""ROC AUC and SIC on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from lhcad.errors import StageError
from lhcad.metrics import max_sic, roc_auc


def test_auc_of_perfect_reversed_and_random_scores() -> None:
    labels = np.array([0] * 500 + [1] * 500)
    assert roc_auc(labels, labels.astype(float)) == 1.0
    assert roc_auc(labels, -labels.astype(float)) == 0.0
    assert abs(roc_auc(labels, np.random.default_rng(0).random(1000)) - 0.5) < 0.05


def test_max_sic_of_a_hand_made_case() -> None:
    # 100 signal all above 10,000 background: a cut keeping 1 background event (FPR 1e-4)
    # keeps every signal event, SIC = 1 / sqrt(1e-4) = 100.
    labels = np.array([0] * 10_000 + [1] * 100)
    scores = np.concatenate([np.arange(10_000), 10_000 + np.arange(100)]).astype(float)
    scores[9_999] = 20_000.0  # one background event above all signal
    assert max_sic(labels, scores) == pytest.approx(100.0)


def test_one_class_is_a_clear_error() -> None:
    with pytest.raises(StageError, match="both signal and background"):
        roc_auc(np.zeros(10), np.arange(10.0))
