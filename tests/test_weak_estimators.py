"""The weak scan's estimator interfaces (issue #31), sk_cathode style: lhcad's flow ensemble and
classifiers implement them, and estimators written here (a conditional Gaussian whose mean is
linear in m, scikit-learn's logistic regression) run in the CATHODE window scan to the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.linear_model import LogisticRegression

from lhcad.errors import StageError
from lhcad.weak.cathode import FlowEnsemble, sample_flow, synthesize, train_flow
from lhcad.weak.classifier import (
    ClassifierEnsemble,
    ClassifierMember,
    ClassifierSpec,
    HGBMember,
    MLPClassifier,
    cross_val_scores,
    thread_limit,
)
from lhcad.weak.estimators import BinaryClassifier, ConditionalDensityEstimator
from lhcad.weak.scan import UNSCORED, ScanResult, run_scan
from lhcad.weak.settings import FlowSettings, ScanSettings, WindowSettings
from lhcad.weak.windows import Window
from tests.test_weak import SIGNAL_MJJ, drifting_toy


class LinearGaussian:
    """A user's background model: X | m is Gaussian, its mean linear in m, its covariance
    constant (least squares on the training events)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def fit(
        self, X: np.ndarray, m: np.ndarray, X_val: np.ndarray | None = None, m_val: np.ndarray | None = None
    ) -> LinearGaussian:
        design = np.column_stack([np.ones(len(m)), np.ravel(m)])
        self.coef, *_ = np.linalg.lstsq(design, X, rcond=None)
        self.cov = np.atleast_2d(np.cov(X - design @ self.coef, rowvar=False))
        return self

    def _mean(self, m: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(m)), np.ravel(m)]) @ self.coef

    def sample(self, n_samples: int, m: np.ndarray) -> np.ndarray:
        noise = self.rng.multivariate_normal(np.zeros(len(self.cov)), self.cov, n_samples)
        return self._mean(m) + noise

    def predict_log_proba(self, X: np.ndarray, m: np.ndarray) -> np.ndarray:
        return np.asarray(multivariate_normal(cov=self.cov).logpdf(X - self._mean(m))).reshape(-1, 1)


class WrongShape(LinearGaussian):
    """Samples one feature too few."""

    def sample(self, n_samples: int, m: np.ndarray) -> np.ndarray:
        return super().sample(n_samples, m)[:, 1:]


def logistic(seed: int) -> LogisticRegression:
    return LogisticRegression(max_iter=500, random_state=seed)


def flow_toy(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(X, m): two features whose mean follows the context m."""
    rng = np.random.default_rng(seed)
    m = rng.uniform(-1.5, 1.5, (n, 1)).astype(np.float32)
    x = (rng.normal(0, 1, (n, 2)) + np.c_[m, -0.5 * m]).astype(np.float32)
    return x, m


SMALL_FLOW = FlowSettings(transforms=2, hidden=(16, 16), epochs=3, checkpoints=2, device="cpu")


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One thread, as the scan's tasks run (OpenMP pools on shared cores crawl)."""
    with thread_limit(1):
        yield


# --- protocols ---------------------------------------------------------------------------------


def test_lhcad_flow_is_a_conditional_density_estimator_that_samples_and_evaluates() -> None:
    x, m = flow_toy()
    flow = FlowEnsemble(SMALL_FLOW, seed=3)
    assert isinstance(flow, ConditionalDensityEstimator)
    assert flow.fit(x, m) is flow
    samples = flow.sample(500, m[:500])
    assert samples.shape == (500, 2) and np.isfinite(samples).all()
    log_p = flow.predict_log_proba(x[:500], m[:500])
    assert log_p.shape == (500, 1) and np.isfinite(log_p).all()
    # a density: the training distribution is far likelier than events moved 8 sigma away
    assert np.median(log_p) > np.median(flow.predict_log_proba(x[:500] + 8.0, m[:500])) + 10


def test_the_flow_ensemble_is_the_scans_flow_unchanged() -> None:
    """Thin methods: fit is train_flow (same split, same weights), the k-th sample call is
    sample_flow with seed + k, as synthesize drew before."""
    x, m = flow_toy()
    trained = train_flow(x, m, SMALL_FLOW, seed=5)
    flow = FlowEnsemble(SMALL_FLOW, seed=5).fit(x, m)
    assert flow.trained is not None and flow.history == trained.history
    for mine, theirs in zip(flow.trained.states, trained.states):
        assert all(np.array_equal(mine[k].numpy(), theirs[k].numpy()) for k in theirs)
    assert np.array_equal(flow.sample(400, m[:400]), sample_flow(trained, m[:400], SMALL_FLOW, 6))
    assert np.array_equal(flow.sample(300, m[:300]), sample_flow(trained, m[:300], SMALL_FLOW, 7))
    # with the validation events given, the same as the split it makes itself
    is_val = np.random.default_rng(5).random(len(x)) < SMALL_FLOW.val_fraction
    given = FlowEnsemble(SMALL_FLOW, seed=5).fit(x[~is_val], m[~is_val], X_val=x[is_val], m_val=m[is_val])
    assert given.history == trained.history


def test_a_user_estimator_and_sklearn_classifiers_satisfy_the_protocols() -> None:
    assert isinstance(LinearGaussian(), ConditionalDensityEstimator)
    assert not isinstance(LogisticRegression(), ConditionalDensityEstimator)
    assert isinstance(LogisticRegression(), BinaryClassifier)


@pytest.mark.parametrize("kind", ["hgb", "mlp", "user", "ensemble"])
def test_lhcads_classifiers_offer_fit_predict_and_predict_proba(kind: str) -> None:
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 1, (600, 3)), rng.normal(0.8, 1, (600, 3))].astype(np.float32)
    y = np.r_[np.zeros(600, int), np.ones(600, int)]
    spec = ClassifierSpec(
        kind="mlp" if kind == "mlp" else "hgb", members=2, max_iter=30, epochs=10, batch_size=128
    )
    classifier: Any = {
        "hgb": HGBMember(spec, 0),
        "mlp": MLPClassifier(spec, 0),
        "user": ClassifierMember(logistic(0)),
        "ensemble": ClassifierEnsemble(spec, 0),
    }[kind]
    assert isinstance(classifier, BinaryClassifier)
    assert classifier.fit(x, y, sample_weight=np.ones(len(y))) is classifier
    p = classifier.predict(x)
    proba = classifier.predict_proba(x)
    assert p.shape == (len(x),) and proba.shape == (len(x), 2)
    assert np.allclose(proba.sum(axis=1), 1) and np.allclose(proba[:, 1], p)
    # log-odds, as the scan averages them
    assert np.allclose(classifier.decision_function(x), np.log(p / (1 - p)), atol=1e-4)
    assert p[y == 1].mean() > p[y == 0].mean() + 0.1


def test_a_user_classifier_factory_cross_trains_every_event() -> None:
    rng = np.random.default_rng(1)
    x = np.r_[rng.normal(0, 1, (500, 2)), rng.normal(1, 1, (500, 2))]
    y = np.r_[np.zeros(500, int), np.ones(500, int)]
    scores, fits = cross_val_scores(x, y, ClassifierSpec(members=2, factory=logistic), folds=3)
    assert np.isfinite(scores).all()
    assert all(isinstance(m, ClassifierMember) for fit in fits for m in fit.members)
    assert scores[y == 1].mean() > scores[y == 0].mean()


# --- the window scan with a user's estimators --------------------------------------------------


def test_a_density_estimator_is_cathodes_and_its_samples_are_checked() -> None:
    mjj, x, _ = drifting_toy(n_background=8000, n_signal=0)
    names = ["d", "a", "b"]
    with pytest.raises(StageError, match="CATHODE's background model"):
        run_scan(ScanSettings(method="cwola"), x=x, mjj=mjj, names=names, density_estimator=LinearGaussian)
    window = Window(0, SIGNAL_MJJ, SIGNAL_MJJ * 0.96, SIGNAL_MJJ * 1.04, 2000.0)
    shared: dict[str, Any] = dict(x=x, mjj=mjj, names=names, cfg=FlowSettings(sideband=3.0), oversample=2, seed=0)
    with pytest.raises(StageError, match=r"WrongShape\.sample\(.*gave shape .*\(\d+, 2\), not \(\d+, 3\)"):
        synthesize(window, **shared, density_estimator=WrongShape)
    good = synthesize(window, **shared, density_estimator=LinearGaussian)
    in_sr = window.signal_region(mjj)
    assert good.synthetic.shape == (2 * in_sr.sum(), 3) and good.synthetic.dtype == np.float32
    summary = good.summary()
    assert summary["density_estimator"] == "LinearGaussian" and summary["flow_epochs"] is None
    assert np.isfinite(summary["flow_val_loss"])  # -log p on the held-out sidebands


@pytest.fixture(scope="module")
def user_scan() -> tuple[ScanResult, np.ndarray]:
    mjj, x, labels = drifting_toy(n_background=40_000, n_signal=300)
    cfg = ScanSettings(
        method="cathode",
        folds=3,
        ensemble=1,
        windows=WindowSettings(
            start=3240, stop=3780, width=0.08, step=1.0, min_events=200, efficiencies=[0.05, 0.01]
        ),
        flow=FlowSettings(sideband=3.0),
    )
    result = run_scan(
        cfg,
        x=x,
        mjj=mjj,
        names=["drifting", "a", "b"],
        labels=labels,
        density_estimator=LinearGaussian,
        classifier=logistic,
    )
    return result, mjj


@pytest.mark.slow
def test_a_user_density_estimator_and_classifier_run_the_cathode_scan_to_the_end(
    user_scan: tuple[ScanResult, np.ndarray],
) -> None:
    result, mjj = user_scan
    assert len(result.windows) >= 2
    assert all(w["density_estimator"] == "LinearGaussian" for w in result.windows)
    # the linear Gaussian describes the Gaussianized sidebands: the closure test cannot tell
    assert all(0.4 < w["closure_auc"] < 0.6 for w in result.windows)
    # a score for every event: each in a scanned signal region gets -log10 p, the others UNSCORED
    assert result.scores.shape == mjj.shape and np.isfinite(result.scores).all()
    scored = result.window_of >= 0
    assert (result.scores[scored] >= 0).all() and (result.scores[~scored] == UNSCORED).all()
    lo, hi = result.mjj_range
    assert scored[(mjj >= lo) & (mjj < hi)].all()
    # and the scan still finds the resonance with them
    best = result.windows[result.best]
    assert best["lo"] <= SIGNAL_MJJ < best["hi"]
    assert result.metrics is not None and result.metrics["cathode"]["auc"] > 0.7
