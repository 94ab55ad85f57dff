"""The estimator interfaces of the weak scan, in the style of
`sk_cathode <https://github.com/uhh-pd-ml/sk_cathode>`_: bring your own background model or
classifier and the window scan (:func:`lhcad.weak.scan.run_scan`) does the rest (windows,
preprocessing, cross-training, calibration, event scores).

What to use when:

- :class:`ConditionalDensityEstimator`: CATHODE's background model p(X | m), trained on a
  window's sidebands and sampled in its signal region. lhcad's own is the flow ensemble
  :class:`lhcad.weak.cathode.FlowEnsemble` (the YAML's ``score.flow``); a flow-matching model, a
  LaCATHODE-style latent-space flow or a kernel density estimate plug in through
  ``run_scan(..., density_estimator=factory)``.
- :class:`BinaryClassifier`: the signal-region-vs-reference classifier, trained per fold.
  lhcad's members (:class:`lhcad.weak.classifier.HGBMember`,
  :class:`lhcad.weak.classifier.MLPClassifier`) and fold ensembles
  (:class:`lhcad.weak.classifier.ClassifierEnsemble`) implement it; any scikit-learn
  classifier whose ``fit`` takes ``sample_weight`` (``HistGradientBoostingClassifier``,
  ``LogisticRegression``) or sk_cathode-style classifier plugs in through
  ``run_scan(..., classifier=factory)`` (each member scored by its log-odds,
  :class:`lhcad.weak.classifier.ClassifierMember`).

Both are :func:`typing.runtime_checkable`: ``isinstance(obj, ConditionalDensityEstimator)``
checks that the methods exist (not their signatures).

What the scan hands a density estimator (per window, after its own preprocessing):

- ``X``: the sideband events' features, Gaussianized (:mod:`lhcad.weak.transform`: each feature
  mapped to a standard normal, its mjj trend removed), events x features;
- ``m``: their mjj as the window's context, ``log(mjj / centre) / relative width``, shape
  (events, 1): 0 at the window's centre, the signal region is [-1/2, 1/2);
- ``X_val``, ``m_val``: a held-out part of the sidebands (``flow.val_fraction``) for early
  stopping; the closure test measures the samples against these events.

``sample(n_samples, m)`` must return ``n_samples`` rows of Gaussianized features, one per row of
``m``, which the scan clips to the sidebands' range and hands to the classifier.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ConditionalDensityEstimator(Protocol):
    """A conditional density p(X | m) that can be fitted, sampled and evaluated."""

    def fit(
        self, X: np.ndarray, m: np.ndarray, X_val: np.ndarray | None = None, m_val: np.ndarray | None = None
    ) -> Any:
        """Fit p(X | m) to events ``X`` (events x features) at conditions ``m`` (events x 1);
        ``X_val``, ``m_val``: held-out events (early stopping, model choice). Returns self."""
        ...

    def sample(self, n_samples: int, m: np.ndarray) -> np.ndarray:
        """``n_samples`` events drawn from p(X | m), one per row of ``m`` (``n_samples`` x 1):
        an array of ``n_samples`` x features."""
        ...

    def predict_log_proba(self, X: np.ndarray, m: np.ndarray) -> np.ndarray:
        """log p(X | m) of every event, shape (events, 1) (sk_cathode's; (events,) also does)."""
        ...


@runtime_checkable
class BinaryClassifier(Protocol):
    """A classifier of the data searched (class 1, signal-region events) against a
    background-like reference (class 0).

    ``predict(X)`` follows sk_cathode: the probability of class 1. A scikit-learn classifier's
    ``predict`` gives labels instead; where an object has ``predict_proba`` the scan reads its
    column 1 (:func:`signal_probability`), so both kinds plug in.
    """

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> Any:
        """Fit to events ``X`` with labels ``y`` (1: signal region) and per-event weights
        (the scan passes weights that give both classes the same total). Returns self."""
        ...

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The probability that each event is of class 1 (sk_cathode), or its label
        (scikit-learn, which then also has ``predict_proba``)."""
        ...


def signal_probability(classifier: BinaryClassifier, X: np.ndarray) -> np.ndarray:
    """P(class 1 | X) from ``classifier``: column 1 of ``predict_proba`` where it has one
    (scikit-learn), else ``predict`` (sk_cathode), flattened to shape (events,)."""
    predict_proba = getattr(classifier, "predict_proba", None)
    if predict_proba is not None:
        proba = np.asarray(predict_proba(X), dtype=np.float64)
        return proba[:, 1] if proba.ndim == 2 and proba.shape[1] == 2 else proba.reshape(len(X))
    return np.asarray(classifier.predict(X), dtype=np.float64).reshape(len(X))


def sample_checked(estimator: ConditionalDensityEstimator, m: np.ndarray, n_features: int) -> np.ndarray:
    """``estimator.sample(len(m), m)`` as a float32 array, checked: one row of ``n_features``
    finite values per row of ``m``.

    Raises:
        StageError: naming the estimator, for a wrong shape or non-finite values.
    """
    from lhcad.errors import StageError

    out = np.asarray(estimator.sample(len(m), m))
    name, n = type(estimator).__name__, len(m)
    if out.shape != (n, n_features):
        message = f"{name}.sample({n}, m) gave shape {out.shape}, not ({n}, {n_features})"
        raise StageError(message, where="density_estimator")
    if not np.isfinite(out).all():
        message = f"{name}.sample gave {int((~np.isfinite(out)).sum())} non-finite values"
        raise StageError(message, where="density_estimator")
    return out.astype(np.float32, copy=False)
