"""ROC AUC and SIC on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from lhcad.errors import StageError
from lhcad.metrics import max_sic, roc_auc, roc_curve, sic_curve


def test_auc_of_perfect_reversed_and_random_scores() -> None:
    labels = np.array([0] * 500 + [1] * 500)
    assert roc_auc(labels, labels.astype(float)) == 1.0
    assert roc_auc(labels, -labels.astype(float)) == 0.0
    assert roc_auc(labels, np.random.default_rng(0).random(1000)) == pytest.approx(0.5, abs=0.05)


def test_roc_curve_runs_from_origin_to_one_one() -> None:
    labels = np.array([0, 0, 1, 1])
    fpr, tpr = roc_curve(labels, np.array([0.1, 0.6, 0.4, 0.9]))
    np.testing.assert_allclose(fpr, [0.0, 0.0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(tpr, [0.0, 0.5, 0.5, 1.0, 1.0])


def test_max_sic_of_a_hand_made_case() -> None:
    # 100 signal above 9,999 background, one background event above all: the cut just below the
    # signal keeps 1 background event (FPR 1e-4) and every signal event, SIC = 1 / sqrt(1e-4) = 100.
    labels = np.array([0] * 10_000 + [1] * 100)
    scores = np.concatenate([np.arange(10_000), 10_000 + np.arange(100)]).astype(float)
    scores[9_999] = 20_000.0
    assert max_sic(labels, scores) == pytest.approx(100.0)


def test_sic_ignores_cuts_below_the_fpr_floor() -> None:
    # The top-scored background event alone (FPR 1e-4) sits below a 1e-3 floor: the best cut
    # allowed keeps 10 background events (FPR 1e-3) and every signal event, SIC = 1/sqrt(1e-3).
    labels = np.array([0] * 10_000 + [1] * 100)
    scores = np.concatenate([np.arange(10_000), 10_000 + np.arange(100)]).astype(float)
    scores[9_999] = 20_000.0
    fpr_floor = 1e-3
    tpr, sic = sic_curve(labels, scores, fpr_floor)
    assert len(tpr) == len(sic) > 0
    assert max_sic(labels, scores, fpr_floor) == pytest.approx(1 / np.sqrt(1e-3))


def test_infinite_scores_keep_their_order() -> None:
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(labels, np.array([-np.inf, 0.0, 1.0, np.inf])) == 1.0


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        (np.zeros(10), np.arange(10.0), "both signal and background"),
        (np.array([0, 1, 1]), np.array([0.0, np.nan, 1.0]), "1 scores are NaN"),
        (np.array([0, 1, 2]), np.arange(3.0), "0 \\(background\\) or 1 \\(signal\\)"),
        (np.array([0, 1]), np.arange(3.0), "2 labels but 3 scores"),
    ],
)
def test_unusable_input_is_a_clear_error(labels: np.ndarray, scores: np.ndarray, message: str) -> None:
    with pytest.raises(StageError, match=message):
        roc_auc(labels, scores)
