"""CATHODE's background model: a conditional normalizing flow p(features | mjj) trained on the
sidebands of a window, sampled in its signal region.

Flow library: `zuko <https://github.com/probabilists/zuko>`_, actively maintained, pure
PyTorch, and built for conditional flows (its ``MAF`` takes the context directly; nflows has
had no release since 2020). The flow is a masked autoregressive flow of affine transforms, which
trains an order of magnitude faster on a CPU than spline flows and is enough once the inputs are
Gaussianized (:mod:`lhcad.weak.transform`).

Per window: the sideband events (within ``flow.sideband`` signal-region widths, seeded
subsample of at most ``flow.max_events``) are Gaussianized; the context is
log(mjj / centre) / width (the signal region is [-1/2, 1/2)); a held-out part stops the training
early; the flows of the ``flow.checkpoints`` best epochs form the ensemble that samples
``oversample`` synthetic events per signal-region event, at mjj values drawn from a KDE (or an
exponential fit) of the signal region's spectrum. The closure test trains a classifier between
the held-out sideband events and flow samples at the same mjj values: its AUC must be near 0.5.

The flow ensemble is a :class:`~lhcad.weak.estimators.ConditionalDensityEstimator`
(:class:`FlowEnsemble`: ``fit(X, m, X_val, m_val)``, ``sample(n_samples, m)``,
``predict_log_proba(X, m)``, as in sk_cathode), and :func:`synthesize` uses only those methods:
another estimator (``run_scan(..., density_estimator=factory)``) takes its place with the same
preprocessing, mjj sampling, closure test and diagnostics.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lhcad.weak.settings import FlowSettings
from lhcad.weak.classifier import ClassifierSpec, cross_val_scores
from lhcad.weak.estimators import ConditionalDensityEstimator, sample_checked
from lhcad.weak.transform import Gaussianizer
from lhcad.weak.windows import Window

#: Events the closure classifier uses at most (real sideband events; as many flow samples).
CLOSURE_MAX_EVENTS = 50_000

#: Bins of the per-feature data-vs-synthetic histograms kept as diagnostics.
DIAGNOSTIC_BINS = 20


def mjj_context(mjj: np.ndarray, window: Window) -> np.ndarray:
    """The flow's context: log(mjj / centre) / relative width ([-1/2, 1/2) in the signal region)."""
    relative_width = window.width / window.centre
    return (np.log(np.asarray(mjj, dtype=np.float64) / window.centre) / relative_width).astype(np.float32)[:, None]


def build_flow(n_features: int, cfg: FlowSettings) -> Any:
    """An untrained conditional MAF with one context variable."""
    import zuko

    return zuko.flows.MAF(n_features, context=1, transforms=cfg.transforms, hidden_features=tuple(cfg.hidden))


@dataclass
class TrainedFlow:
    """The ensemble of best epochs of one window's flow."""

    n_features: int
    states: list[dict[str, Any]]
    """State dicts of the best epochs (best first)."""
    history: list[float] = field(default_factory=list)
    """Validation loss (mean negative log-likelihood) per epoch."""
    best_epochs: list[int] = field(default_factory=list)


def train_flow(z: np.ndarray, context: np.ndarray, cfg: FlowSettings, seed: int) -> TrainedFlow:
    """Fit p(z | context) by maximum likelihood with :func:`lhcad.models.trainer.train_model`
    (Adam with a cosine learning-rate decay over all steps), keeping the ``cfg.checkpoints`` epochs
    of lowest validation loss.

    Args:
        z: Gaussianized features of the sideband events.
        context: their mjj context (:func:`mjj_context`).
        cfg: architecture and training.
        seed: seeds the initialisation, the validation split and the batch order.
    """
    is_val = np.random.default_rng(seed).random(len(z)) < cfg.val_fraction
    return fit_flow(z[~is_val], context[~is_val], z[is_val], context[is_val], cfg, seed)


def fit_flow(
    z: np.ndarray, context: np.ndarray, z_val: np.ndarray, context_val: np.ndarray, cfg: FlowSettings, seed: int
) -> TrainedFlow:
    """:func:`train_flow` with the validation events given: trains on ``z``, ``context``, stops
    and ranks the epochs on ``z_val``, ``context_val``."""
    import torch

    from lhcad.models.trainer import TrainSettings, resolve_device, train_model

    device = resolve_device(cfg.device)
    torch.manual_seed(seed)
    generator = torch.Generator(device=device).manual_seed(seed)
    xv = torch.as_tensor(z_val, device=device)
    cv = torch.as_tensor(context_val, device=device)
    flow = build_flow(z.shape[1], cfg).to(device)
    optimizer = torch.optim.Adam(flow.parameters(), lr=cfg.lr)
    n_train = len(z)
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    best: list[tuple[float, int, dict[str, Any]]] = []  # max-heap on loss via negation

    def nll(model: Any, batch: tuple[Any, ...], _: Any = None) -> Any:
        c, x = batch
        return -model(c).log_prob(x).mean()

    def val_nll(model: Any) -> float:
        chunks = range(0, len(xv), 65536)
        return float(sum(-model(cv[i : i + 65536]).log_prob(xv[i : i + 65536]).sum() for i in chunks) / max(len(xv), 1))

    def keep_best(epoch: int, entry: dict[str, Any]) -> None:
        val, state = entry["val_loss"], {k: v.detach().cpu().clone() for k, v in flow.state_dict().items()}
        if len(best) < cfg.checkpoints:
            heapq.heappush(best, (-val, epoch - 1, state))
        elif val < -best[0][0]:
            heapq.heapreplace(best, (-val, epoch - 1, state))

    settings = TrainSettings(
        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, patience=cfg.patience, device=cfg.device
    )
    trained = train_model(
        flow,
        nll,
        (context, z),
        val_nll,
        settings,
        seed,
        generator=generator,
        optimizer=optimizer,
        schedule=schedule,
        on_epoch=keep_best,
    )
    ranked = sorted(best, key=lambda item: -item[0])
    return TrainedFlow(
        n_features=z.shape[1],
        states=[s for _, _, s in ranked],
        history=[entry["val_loss"] for entry in trained.history],
        best_epochs=[e for _, e, _ in ranked],
    )


def sample_flow(trained: TrainedFlow, context: np.ndarray, cfg: FlowSettings, seed: int) -> np.ndarray:
    """One sample per context row, drawn in equal parts from the ensemble's epochs."""
    import torch

    from lhcad.models.trainer import resolve_device

    device = resolve_device(cfg.device)
    torch.manual_seed(seed)
    parts = np.array_split(np.arange(len(context)), len(trained.states))
    out = np.empty((len(context), trained.n_features), dtype=np.float32)
    flow = build_flow(trained.n_features, cfg).to(device)
    flow.eval()
    with torch.no_grad():
        for state, rows in zip(trained.states, parts):
            flow.load_state_dict(state)
            for i in range(0, len(rows), 131072):
                chunk = rows[i : i + 131072]
                c = torch.as_tensor(context[chunk], device=device)
                out[chunk] = flow(c).sample().cpu().numpy()
    return out


def flow_log_prob(trained: TrainedFlow, x: np.ndarray, context: np.ndarray, cfg: FlowSettings) -> np.ndarray:
    """log p(x | context) of the ensemble, the equal mixture of its epochs' flows (which
    :func:`sample_flow` samples), per row."""
    import torch

    from lhcad.models.trainer import resolve_device

    device = resolve_device(cfg.device)
    per_state = np.empty((len(trained.states), len(x)), dtype=np.float64)
    flow = build_flow(trained.n_features, cfg).to(device)
    flow.eval()
    with torch.no_grad():
        for k, state in enumerate(trained.states):
            flow.load_state_dict(state)
            for i in range(0, len(x), 131072):
                c = torch.as_tensor(context[i : i + 131072], dtype=torch.float32, device=device)
                xb = torch.as_tensor(x[i : i + 131072], dtype=torch.float32, device=device)
                per_state[k, i : i + 131072] = flow(c).log_prob(xb).double().cpu().numpy()
    from scipy.special import logsumexp

    return np.asarray(logsumexp(per_state, axis=0) - np.log(len(trained.states)))


class FlowEnsemble:
    """lhcad's CATHODE background model as a
    :class:`~lhcad.weak.estimators.ConditionalDensityEstimator`: a conditional MAF
    (:func:`build_flow`) whose ``checkpoints`` best epochs form an equal mixture.

    Thin methods over :func:`train_flow` / :func:`fit_flow`, :func:`sample_flow` and
    :func:`flow_log_prob`. ``sample`` draws with seed ``seed + k`` on its k-th call (k = 1, 2,
    ...): a fitted ensemble gives the same sequence of samples every time.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> m = rng.uniform(-1, 1, (2000, 1)).astype(np.float32)
        >>> X = (rng.normal(0, 1, (2000, 2)) + m).astype(np.float32)
        >>> flow = FlowEnsemble(FlowSettings(transforms=2, hidden=(16,), epochs=2, device="cpu"))
        >>> flow.fit(X, m).sample(5, m[:5]).shape
        (5, 2)
        >>> flow.predict_log_proba(X[:3], m[:3]).shape
        (3, 1)
    """

    def __init__(self, settings: FlowSettings | None = None, seed: int = 0):
        self.settings = settings or FlowSettings()
        self.seed = seed
        self.trained: TrainedFlow | None = None
        self._draws = 0

    def fit(
        self, X: np.ndarray, m: np.ndarray, X_val: np.ndarray | None = None, m_val: np.ndarray | None = None
    ) -> FlowEnsemble:
        """Train on ``X`` at contexts ``m`` (events x 1); without ``X_val``, ``m_val`` a seeded
        ``val_fraction`` of the events is held out for the early stopping (:func:`train_flow`)."""
        X, m = np.asarray(X, dtype=np.float32), _context_column(m)
        if X_val is None or m_val is None:
            self.trained = train_flow(X, m, self.settings, self.seed)
        else:
            X_val, m_val = np.asarray(X_val, dtype=np.float32), _context_column(m_val)
            self.trained = fit_flow(X, m, X_val, m_val, self.settings, self.seed)
        self._draws = 0
        return self

    def _fitted(self) -> TrainedFlow:
        if self.trained is None:
            raise RuntimeError("FlowEnsemble: call fit first")
        return self.trained

    def sample(self, n_samples: int, m: np.ndarray) -> np.ndarray:
        """One event per row of ``m`` (``n_samples`` rows), drawn in equal parts from the epochs."""
        context = _context_column(m)
        if len(context) != n_samples:
            raise ValueError(f"sample: {n_samples} samples asked for, m has {len(context)} rows")
        self._draws += 1
        return sample_flow(self._fitted(), context, self.settings, self.seed + self._draws)

    def predict_log_proba(self, X: np.ndarray, m: np.ndarray) -> np.ndarray:
        """log p(X | m) of the ensemble (the mixture of its epochs), shape (events, 1)."""
        x = np.asarray(X, dtype=np.float32)
        return flow_log_prob(self._fitted(), x, _context_column(m), self.settings)[:, None]

    @property
    def history(self) -> list[float]:
        """Validation loss per epoch."""
        return self._fitted().history


def _context_column(m: np.ndarray) -> np.ndarray:
    """``m`` as a float32 column (events x 1)."""
    return np.asarray(m, dtype=np.float32).reshape(-1, 1)


def sample_mjj(mjj_sr: np.ndarray, n: int, window: Window, method: str, rng: np.random.Generator) -> np.ndarray:
    """``n`` mjj values following the signal region's spectrum.

    ``kde``: a Gaussian kernel density estimate (Scott's bandwidth) of the signal region's mjj
    values, reflected at the region's edges. ``fit``: an exponential fitted to them (maximum
    likelihood on the truncated range), sampled by its inverse CDF.
    """
    mjj_sr = np.asarray(mjj_sr, dtype=np.float64)
    lo, hi = window.lo, window.hi
    if method == "kde":
        bandwidth = 1.06 * mjj_sr.std() * len(mjj_sr) ** (-0.2)
        m = rng.choice(mjj_sr, n) + rng.normal(0.0, bandwidth, n)
        m = np.where(m < lo, 2 * lo - m, m)
        m = np.where(m >= hi, 2 * hi - m, m)
        return np.clip(m, lo, np.nextafter(hi, lo))
    if method == "fit":
        slope = _truncated_exponential_slope(mjj_sr - lo, hi - lo)
        u = rng.random(n)
        if abs(slope) < 1e-12:
            return lo + u * (hi - lo)
        return lo - np.log1p(-u * (-np.expm1(-slope * (hi - lo)))) / slope
    raise ValueError(f"unknown mjj sampling {method!r}")


def _truncated_exponential_slope(t: np.ndarray, width: float) -> float:
    """MLE of the slope of exp(-slope t) on [0, width) (negative for a rising spectrum)."""
    from scipy.optimize import brentq

    mean = float(np.mean(t))

    def excess(slope: float) -> float:
        if abs(slope * width) < 1e-6:
            return width / 2 - mean
        return 1 / slope - width / np.expm1(slope * width) - mean

    bound = 200.0 / width
    return float(brentq(excess, -bound, bound))


def closure_auc(real: np.ndarray, synthetic: np.ndarray, seed: int) -> float:
    """AUC of a classifier between real and synthetic events (out-of-fold, 2 folds); 0.5 means
    the classifier cannot tell them apart."""
    from lhcad.metrics import roc_auc

    x = np.concatenate([real, synthetic])
    y = np.concatenate([np.ones(len(real)), np.zeros(len(synthetic))])
    scores, _ = cross_val_scores(x, y, ClassifierSpec(members=1, seed=seed), folds=2)
    return roc_auc(y, scores)


def feature_histograms(
    names: list[str], samples: dict[str, np.ndarray], reference: str, bins: int = DIAGNOSTIC_BINS
) -> dict[str, Any]:
    """Normalised histograms of every feature for each sample, on bins spanning the 0.5-99.5%
    quantiles of the ``reference`` sample (JSON-ready)."""
    out: dict[str, Any] = {}
    for j, name in enumerate(names):
        lo, hi = np.quantile(samples[reference][:, j], [0.005, 0.995])
        if not hi > lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, bins + 1)
        entry: dict[str, Any] = {"edges": edges.round(6).tolist()}
        for label, values in samples.items():
            counts, _ = np.histogram(np.clip(values[:, j], lo, hi), edges)
            entry[label] = (counts / max(len(values), 1)).round(6).tolist()
        out[name] = entry
    return out


@dataclass
class SyntheticBackground:
    """What the flow of one window produced."""

    window: int
    synthetic: np.ndarray
    """Gaussianized synthetic signal-region background (oversample x signal-region events)."""
    closure_auc: float
    n_train: int
    epochs: int | None
    """Training epochs (None: a user's estimator)."""
    best_epochs: list[int]
    val_loss: float
    """The flow's best validation loss; a user's estimator's mean -log p on the held-out
    sideband events."""
    histograms: dict[str, Any]
    """Feature distributions in physical units: SR data, synthetic, held-out SB, SB samples."""
    gaussianizer: Gaussianizer
    estimator: str | None = None
    """The class name of a user's density estimator (None: lhcad's flow)."""

    def summary(self) -> dict[str, Any]:
        """JSON-ready diagnostics (without the arrays)."""
        summary = {
            "closure_auc": self.closure_auc,
            "flow_events": self.n_train,
            "flow_epochs": self.epochs,
            "flow_best_epochs": self.best_epochs,
            "flow_val_loss": self.val_loss,
            "n_synthetic": len(self.synthetic),
        }
        if self.estimator is not None:
            summary["density_estimator"] = self.estimator
        return summary


def _held_out_nll(estimator: ConditionalDensityEstimator, z: np.ndarray, context: np.ndarray) -> float:
    """Mean -log p of the held-out events (NaN for none, or for an estimator without a tractable
    likelihood, whose ``predict_log_proba`` raises NotImplementedError: flow matching)."""
    if len(z) == 0:
        return float("nan")
    try:
        log_p = np.asarray(estimator.predict_log_proba(z, context), dtype=np.float64)
    except NotImplementedError:
        return float("nan")
    return float(-log_p.mean())


def synthesize(
    window: Window,
    *,
    x: np.ndarray,
    mjj: np.ndarray,
    names: list[str],
    cfg: FlowSettings,
    oversample: int,
    seed: int,
    density_estimator: Callable[[int], ConditionalDensityEstimator] | None = None,
) -> SyntheticBackground:
    """Train the window's flow on its sidebands and sample its signal-region background.

    Args:
        window: the signal region.
        x: features of all events (physical units), events x features.
        mjj: mjj of all events.
        names: feature names (for the diagnostics).
        cfg: the flow's settings.
        oversample: synthetic events per signal-region event.
        seed: the window's seed.
        density_estimator: a user's background model instead of the flow: called as
            ``density_estimator(seed)``, it returns a fresh
            :class:`~lhcad.weak.estimators.ConditionalDensityEstimator` (None: :class:`FlowEnsemble`
            with ``cfg``).

    Raises:
        StageError: if the estimator's samples have the wrong shape or non-finite values.
    """
    rng = np.random.default_rng(seed)
    sideband = np.flatnonzero(window.sidebands(mjj, cfg.sideband))
    if len(sideband) > cfg.max_events:
        sideband = np.sort(rng.choice(sideband, cfg.max_events, replace=False))
    trend_mjj = mjj[sideband] if cfg.conditional_transform else None
    gauss = Gaussianizer.fit(x[sideband], trend_mjj, window.centre, seed=seed)
    z_sb = gauss.transform(x[sideband], trend_mjj)
    c_sb = mjj_context(mjj[sideband], window)
    # the held-out part stops the training early and is the closure test's real sample
    held_out = np.random.default_rng(seed).random(len(sideband)) < cfg.val_fraction
    estimator = FlowEnsemble(cfg, seed) if density_estimator is None else density_estimator(seed)
    estimator.fit(z_sb[~held_out], c_sb[~held_out], X_val=z_sb[held_out], m_val=c_sb[held_out])
    in_sr = window.signal_region(mjj)
    n_synthetic = oversample * int(in_sr.sum())
    m_synthetic = sample_mjj(mjj[in_sr], n_synthetic, window, cfg.mjj_sampling, rng)
    n_features = z_sb.shape[1]
    synthetic = gauss.clip(sample_checked(estimator, mjj_context(m_synthetic, window), n_features))
    real = z_sb[held_out][:CLOSURE_MAX_EVENTS]
    m_real = mjj[sideband][held_out][:CLOSURE_MAX_EVENTS]
    closure_samples = gauss.clip(sample_checked(estimator, mjj_context(m_real, window), n_features))
    auc = closure_auc(real, closure_samples, seed) if len(real) >= 20 else float("nan")
    histograms = feature_histograms(
        names,
        {
            "sr_data": x[in_sr],
            "sr_synthetic": gauss.inverse(synthetic, m_synthetic),
            "sb_data": x[sideband][held_out][:CLOSURE_MAX_EVENTS],
            "sb_synthetic": gauss.inverse(closure_samples, m_real),
        },
        reference="sr_data",
    )
    if isinstance(estimator, FlowEnsemble) and estimator.trained is not None:
        trained = estimator.trained
        epochs, best_epochs, val_loss, name = len(trained.history), trained.best_epochs, min(trained.history), None
    else:
        val_loss = _held_out_nll(estimator, z_sb[held_out], c_sb[held_out])
        epochs, best_epochs, name = None, [], type(estimator).__name__
    return SyntheticBackground(
        window=window.index,
        synthetic=synthetic,
        closure_auc=auc,
        n_train=len(sideband),
        epochs=epochs,
        best_epochs=best_epochs,
        val_loss=val_loss,
        histograms=histograms,
        gaussianizer=gauss,
        estimator=name,
    )
