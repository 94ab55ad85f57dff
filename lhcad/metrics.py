"""Classifier figures of merit: ROC curve, AUC, and the significance improvement characteristic.

SIC = TPR / sqrt(FPR) is the factor by which a cut on the score improves S/sqrt(B). At tiny FPR
it is dominated by a handful of background events, so it is evaluated only where
FPR >= ``fpr_floor`` (default 1e-4).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as _sk_roc_curve

from lhcad.errors import StageError


def _check(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    if len(np.unique(labels)) != 2:
        raise StageError("ROC metrics need both signal and background events")
    return labels, np.nan_to_num(scores, nan=-np.inf, neginf=-1e300, posinf=1e300)


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) of a score that is higher for signal."""
    fpr, tpr, _ = _sk_roc_curve(*_check(labels, scores))
    return fpr, tpr


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (1: perfect, 0.5: random, 0: reversed)."""
    return float(roc_auc_score(*_check(labels, scores)))


def sic_curve(labels: np.ndarray, scores: np.ndarray, fpr_floor: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """(TPR, SIC) where FPR >= ``fpr_floor``."""
    fpr, tpr = roc_curve(labels, scores)
    keep = fpr >= max(fpr_floor, np.finfo(float).tiny)
    return tpr[keep], tpr[keep] / np.sqrt(fpr[keep])


def max_sic(labels: np.ndarray, scores: np.ndarray, fpr_floor: float = 1e-4) -> float:
    """The largest SIC with FPR >= ``fpr_floor``."""
    _, sic = sic_curve(labels, scores, fpr_floor)
    return float(sic.max()) if len(sic) else 0.0
