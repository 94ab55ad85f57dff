"""Classifier figures of merit: ROC curve, AUC, and the significance improvement characteristic.

Scores are higher for signal (label 1) than for background (label 0). SIC = TPR / sqrt(FPR) is
the factor by which a cut on the score improves S/sqrt(B). At tiny FPR it rests on a handful of
background events, so it is evaluated only where FPR >= ``fpr_floor`` (default 1e-4).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as _sklearn_roc_curve

from lhcad.errors import StageError

DEFAULT_FPR_FLOOR = 1e-4


def _checked(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and finite float64 scores (infinities become the extreme finite values,
    which keeps the order a ROC curve depends on)."""
    labels = np.asarray(labels).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise StageError(f"{len(labels)} labels but {len(scores)} scores")
    if not np.isin(labels, (0, 1)).all():
        raise StageError("labels must be 0 (background) or 1 (signal)")
    if len(np.unique(labels)) != 2:
        raise StageError("ROC metrics need both signal and background events")
    if np.isnan(scores).any():
        raise StageError(f"{int(np.isnan(scores).sum())} scores are NaN")
    return labels.astype(int), np.nan_to_num(scores)


def roc_curve(
    labels: np.ndarray, scores: np.ndarray, *, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) from (0, 0) to (1, 1).

    ``drop_intermediate`` leaves out cuts on straight segments of the curve (enough to draw
    it); keep them for figures that are not linear in FPR, like the SIC.
    """
    fpr, tpr, _ = _sklearn_roc_curve(*_checked(labels, scores), drop_intermediate=drop_intermediate)
    return fpr, tpr


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (1: perfect, 0.5: random, 0: reversed)."""
    return float(roc_auc_score(*_checked(labels, scores)))


def sic_curve(
    labels: np.ndarray, scores: np.ndarray, fpr_floor: float = DEFAULT_FPR_FLOOR
) -> tuple[np.ndarray, np.ndarray]:
    """(TPR, SIC) at every cut whose FPR is at least ``fpr_floor`` (and above zero)."""
    fpr, tpr = roc_curve(labels, scores, drop_intermediate=False)
    keep = fpr >= max(fpr_floor, np.finfo(np.float64).tiny)
    return tpr[keep], tpr[keep] / np.sqrt(fpr[keep])


def max_sic(labels: np.ndarray, scores: np.ndarray, fpr_floor: float = DEFAULT_FPR_FLOOR) -> float:
    """The largest SIC with FPR >= ``fpr_floor``."""
    _, sic = sic_curve(labels, scores, fpr_floor)
    return float(sic.max())
