"""k-fold cross-trained classifier ensembles that give every event an out-of-fold score.

The events are split into ``folds`` seeded folds. For fold k, ``members`` classifiers train on
the other folds (each holding out its own random part for early stopping) and score fold k;
every event is thus scored only by classifiers that never saw it, which weak supervision needs
(the data are both the training sample and the sample searched). The score is the members'
mean log-odds; classes are weighted to equal total weight, so it estimates the log likelihood
ratio up to a constant.

Classifiers: scikit-learn's ``HistGradientBoostingClassifier`` (default; tree ensembles are
the strongest weak-supervision classifiers at low signal fractions, arXiv:2309.13111) or a small
torch MLP (:class:`MLPClassifier`), or a user's (``ClassifierSpec.factory``, any
:class:`~lhcad.weak.estimators.BinaryClassifier`, wrapped in :class:`ClassifierMember`). Members
and fold ensembles (:class:`ClassifierEnsemble`) offer the estimator methods of scikit-learn and
sk_cathode: ``fit(X, y, sample_weight=None)``, ``predict(X)`` (the probability of class 1, as in
sk_cathode), ``predict_proba(X)`` (both classes, as in scikit-learn) and ``decision_function(X)``
(log-odds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from lhcad.weak.estimators import BinaryClassifier, signal_probability

#: A user classifier's probabilities are kept this far from 0 and 1 before taking log-odds.
PROBABILITY_FLOOR = 1e-7

#: Bins per feature of the HGB inputs (scikit-learn's largest ``max_bins``).
HGB_BINS = 255

#: Events whose quantiles set a member's bin edges (scikit-learn bins on the same subsample size).
BINNING_SUBSAMPLE = 200_000


class Classifier(Protocol):
    """What a fitted ensemble member offers."""

    def decision_function(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class ClassifierSpec:
    """Kind and hyperparameters of the members."""

    kind: str = "hgb"
    """``hgb`` or ``mlp``."""
    members: int = 3
    """Classifiers per fold."""
    val_fraction: float = 0.2
    """Part of a member's training events held out for early stopping."""
    patience: int = 10
    """Iterations (HGB) or epochs (MLP) without validation improvement before stopping."""
    max_iter: int = 200
    """HGB: maximum boosting iterations."""
    learning_rate: float = 0.1
    """HGB: shrinkage."""
    max_leaf_nodes: int = 31
    """HGB: leaves per tree."""
    min_samples_leaf: int = 50
    """HGB: fewest events per leaf (guards against learning statistical fluctuations)."""
    hidden: tuple[int, ...] = (64, 64)
    """MLP: hidden-layer widths."""
    epochs: int = 40
    """MLP: maximum epochs."""
    batch_size: int = 1024
    """MLP: mini-batch size."""
    lr: float = 1e-3
    """MLP: Adam learning rate."""
    device: str = "cpu"
    """MLP: torch device."""
    seed: int = 0
    """Base seed; member m of fold k uses seed + 1000 k + m."""
    threads: int | None = 1
    """CPU threads while training (None: the libraries' defaults)."""
    factory: Callable[[int], BinaryClassifier] | None = field(default=None, compare=False)
    """A user's classifier instead of ``kind``: called as ``factory(seed)`` for every member,
    it returns a fresh :class:`~lhcad.weak.estimators.BinaryClassifier` (None: ``kind``)."""


@contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Limit torch's and the OpenMP/BLAS pools' threads (None: leave them alone)."""
    if threads is None:
        yield
        return
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(threads):
            yield
    finally:
        torch.set_num_threads(before)


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Per-event weights that give both classes the same total weight (mean weight 1)."""
    y = np.asarray(y).astype(bool)
    n, n1 = len(y), int(y.sum())
    w = np.empty(n, dtype=np.float64)
    w[y] = n / (2 * max(n1, 1))
    w[~y] = n / (2 * max(n - n1, 1))
    return w


def _probabilities(log_odds: np.ndarray) -> np.ndarray:
    """``predict_proba`` from log-odds: columns P(class 0), P(class 1)."""
    from scipy.special import expit

    p = expit(log_odds)
    return np.column_stack([1.0 - p, p])


class _Probabilities:
    """``predict`` and ``predict_proba`` of a class with ``decision_function`` (log-odds)."""

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(class 0), P(class 1) of every event, events x 2 (scikit-learn's convention)."""
        return _probabilities(self.decision_function(x))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """P(class 1), the signal region, of every event (sk_cathode's convention)."""
        return self.predict_proba(x)[:, 1]


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """Seeded assignment of ``n`` events to ``folds`` folds of (nearly) equal size."""
    ids = np.arange(n) % folds
    return np.random.default_rng(seed).permutation(ids).astype(np.int8)


def quantile_edges(x: np.ndarray, seed: int, bins: int = HGB_BINS) -> list[np.ndarray]:
    """Per feature, the edges of ``bins`` equal-population bins of ``x`` (unweighted quantiles of
    a seeded subsample of :data:`BINNING_SUBSAMPLE` rows, NaN ignored; repeated edges merged)."""
    rows = np.arange(len(x))
    if len(rows) > BINNING_SUBSAMPLE:
        rows = np.random.default_rng(seed).choice(rows, BINNING_SUBSAMPLE, replace=False)
    levels = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    sample = np.asarray(x, dtype=np.float64)[rows]
    return [np.unique(np.nanquantile(column, levels)) if np.isfinite(column).any() else np.empty(0) for column in sample.T]


def bin_codes(x: np.ndarray, edges: Sequence[np.ndarray]) -> np.ndarray:
    """Each value's bin index under ``edges`` (bin i holds edges[i-1] < x <= edges[i]), as
    float32; NaN stays NaN."""
    x = np.asarray(x, dtype=np.float64)
    codes = np.empty(x.shape, dtype=np.float32)
    for j, column_edges in enumerate(edges):
        codes[:, j] = np.searchsorted(column_edges, x[:, j], side="left")
    codes[np.isnan(x)] = np.nan
    return codes


class HGBMember(_Probabilities):
    """One HistGradientBoosting classifier with early stopping on its own held-out part.

    The member bins its inputs itself (:func:`quantile_edges`, :func:`bin_codes`) and hands
    HGB the bin indices: HGB's own binning is the same idea, but fitted with sample weights
    scikit-learn (>= 1.6) computes each of the 254 bin edges per feature as a separate
    weighted percentile, which took 80% of a member's training time on CATHODE's windows
    (1 s per feature on 200k events).
    """

    def __init__(self, spec: ClassifierSpec, seed: int):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.model = HistGradientBoostingClassifier(
            max_iter=spec.max_iter,
            learning_rate=spec.learning_rate,
            max_leaf_nodes=spec.max_leaf_nodes,
            min_samples_leaf=spec.min_samples_leaf,
            early_stopping=True,
            validation_fraction=spec.val_fraction,
            n_iter_no_change=spec.patience,
            random_state=seed,
        )
        self.seed = seed
        self.edges: list[np.ndarray] = []

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> HGBMember:
        """Fit to ``x``, ``y`` with ``sample_weight`` (None: :func:`balanced_weights`)."""
        self.edges = quantile_edges(x, self.seed)
        weights = balanced_weights(y) if sample_weight is None else sample_weight
        self.model.fit(bin_codes(x, self.edges), y, sample_weight=weights)
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.decision_function(bin_codes(x, self.edges)), dtype=np.float64)


class MLPClassifier(_Probabilities):
    """A small dense torch classifier trained on device-resident tensors, early-stopped on the
    weighted validation loss (the best epoch's weights are kept)."""

    def __init__(self, spec: ClassifierSpec, seed: int):
        self.spec = spec
        self.seed = seed
        self.state: dict[str, Any] | None = None
        self.n_features = 0

    def _network(self) -> Any:
        import torch

        layers: list[torch.nn.Module] = []
        width = self.n_features
        for hidden in self.spec.hidden:
            layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
            width = hidden
        layers.append(torch.nn.Linear(width, 1))
        return torch.nn.Sequential(*layers)

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> MLPClassifier:
        """Fit to ``x``, ``y``; the loss weights are ``sample_weight`` (None: the training and
        the validation part each weighted by :func:`balanced_weights`)."""
        import torch

        from lhcad.models.trainer import TrainSettings, train_model

        spec = self.spec
        generator = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        self.n_features = x.shape[1]
        net = self._network().to(spec.device)
        rng = np.random.default_rng(self.seed)
        is_val = rng.random(len(x)) < spec.val_fraction
        bce = torch.nn.BCEWithLogitsLoss(reduction="none")

        def weights(mask: np.ndarray) -> np.ndarray:
            return balanced_weights(y[mask]) if sample_weight is None else np.asarray(sample_weight)[mask]

        def weighted_loss(model: torch.nn.Module, batch: tuple[torch.Tensor, ...], _: Any = None) -> torch.Tensor:
            xb, yb, wb = batch
            return (bce(model(xb).squeeze(1), yb) * wb).mean()

        train, val = (
            (
                torch.as_tensor(x[mask], dtype=torch.float32, device=spec.device),
                torch.as_tensor(y[mask], dtype=torch.float32, device=spec.device),
                torch.as_tensor(weights(mask), dtype=torch.float32, device=spec.device),
            )
            for mask in (~is_val, is_val)
        )
        settings = TrainSettings(
            epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr, patience=spec.patience, device=spec.device
        )
        trained = train_model(
            net,
            weighted_loss,
            train,
            lambda model: weighted_loss(model, val),
            settings,
            self.seed,
            generator=generator,
            optimizer=torch.optim.Adam(net.parameters(), lr=spec.lr),
            min_delta=1e-6,
        )
        if trained.best_epoch:
            self.state = {k: v.detach().cpu().clone() for k, v in trained.model.state_dict().items()}
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        import torch

        net = self._network()
        if self.state is not None:
            net.load_state_dict(self.state)
        net.eval()
        with torch.no_grad():
            out = net(torch.as_tensor(x, dtype=torch.float32)).squeeze(1)
        return out.numpy().astype(np.float64)


class ClassifierMember(_Probabilities):
    """A user's :class:`~lhcad.weak.estimators.BinaryClassifier` as an ensemble member: fitted
    with :func:`balanced_weights` unless given weights, scored by its log-odds
    ``log(p / (1 - p))`` (``p`` kept within :data:`PROBABILITY_FLOOR` of 0 and 1), as lhcad's
    own members are."""

    def __init__(self, classifier: BinaryClassifier):
        self.classifier = classifier

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> ClassifierMember:
        self.classifier.fit(x, y, sample_weight=balanced_weights(y) if sample_weight is None else sample_weight)
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        p = np.clip(signal_probability(self.classifier, x), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        return np.asarray(np.log(p) - np.log1p(-p), dtype=np.float64)


def make_member(spec: ClassifierSpec, seed: int) -> HGBMember | MLPClassifier | ClassifierMember:
    """An untrained member: the user's (``spec.factory(seed)``), else of ``spec.kind``."""
    if spec.factory is not None:
        return ClassifierMember(spec.factory(seed))
    if spec.kind == "hgb":
        return HGBMember(spec, seed)
    if spec.kind == "mlp":
        return MLPClassifier(spec, seed)
    raise ValueError(f"unknown classifier kind {spec.kind!r}")


@dataclass
class FoldFit:
    """The members trained without fold ``fold`` and their scores of its events."""

    fold: int
    rows: np.ndarray
    """Indices of the fold's events."""
    scores: np.ndarray
    """Out-of-fold scores of those events (mean log-odds of the members)."""
    members: list[Classifier] = field(default_factory=list)


def ensemble_score(members: Sequence[Classifier], x: np.ndarray) -> np.ndarray:
    """Mean log-odds of ``members``."""
    return np.mean([m.decision_function(x) for m in members], axis=0)


class ClassifierEnsemble(_Probabilities):
    """``spec.members`` classifiers, member m seeded ``seed + m``, fitted on the same events;
    their mean log-odds is the ensemble's (``decision_function``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(1, 1, (300, 2))]
        >>> y = np.r_[np.zeros(300), np.ones(300)]
        >>> ensemble = ClassifierEnsemble(ClassifierSpec(members=2, max_iter=20), seed=0).fit(x, y)
        >>> ensemble.predict(x).shape, ensemble.predict_proba(x).shape
        ((600,), (600, 2))
    """

    def __init__(self, spec: ClassifierSpec, seed: int):
        self.spec = spec
        self.seed = seed
        self.members: list[Classifier] = []

    def fit(self, x: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> ClassifierEnsemble:
        """Fit every member to ``x``, ``y`` (``sample_weight`` None: :func:`balanced_weights`)."""
        self.members = [
            make_member(self.spec, self.seed + m).fit(x, y, sample_weight=sample_weight)
            for m in range(self.spec.members)
        ]
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        """The members' mean log-odds."""
        return ensemble_score(self.members, x)


def fit_fold(fold: int, x: np.ndarray, y: np.ndarray, folds_of: np.ndarray, spec: ClassifierSpec) -> FoldFit:
    """Train the members of one fold on the other folds and score the fold's events."""
    train = folds_of != fold
    rows = np.flatnonzero(~train)
    ensemble = ClassifierEnsemble(spec, spec.seed + 1000 * fold).fit(x[train], y[train])
    return FoldFit(fold=fold, rows=rows, scores=ensemble.decision_function(x[rows]), members=ensemble.members)


def assemble(n: int, fits: Sequence[FoldFit]) -> np.ndarray:
    """Out-of-fold scores of all ``n`` events from the fold fits."""
    scores = np.full(n, np.nan)
    for fit in fits:
        scores[fit.rows] = fit.scores
    return scores


def cross_val_scores(x: np.ndarray, y: np.ndarray, spec: ClassifierSpec, folds: int = 5) -> tuple[np.ndarray, list[FoldFit]]:
    """Out-of-fold scores of every event (in this process) and the fold fits."""
    folds_of = fold_ids(len(x), folds, spec.seed)
    fits = [fit_fold(k, x, y, folds_of, spec) for k in range(folds)]
    return assemble(len(x), fits), fits


@dataclass
class Problem:
    """One cross-training problem: data (label 1) against a background-like reference (label 0)."""

    x: np.ndarray
    """Classifier inputs (Gaussianized features), rows x features."""
    y: np.ndarray
    """1 for the data searched (signal-region events), 0 for the reference."""
    events: np.ndarray
    """Event index of each row in the events table; -1 for rows that are no events (synthetic
    or template background)."""
    folds_of: np.ndarray
    """Fold of each row."""

    @classmethod
    def build(
        cls,
        data: np.ndarray,
        reference: np.ndarray,
        data_events: np.ndarray,
        reference_events: np.ndarray | None,
        folds: int,
        seed: int,
    ) -> Problem:
        """Stack data and reference rows and assign seeded folds."""
        if reference_events is None:
            reference_events = np.full(len(reference), -1, dtype=np.int64)
        y = np.concatenate([np.ones(len(data), np.int8), np.zeros(len(reference), np.int8)])
        return cls(
            x=np.concatenate([data, reference]).astype(np.float32),
            y=y,
            events=np.concatenate([data_events, reference_events]).astype(np.int64),
            folds_of=fold_ids(len(y), folds, seed),
        )


def fit_problem_fold(item: tuple[Any, int], *, problems: dict[Any, Problem], spec: ClassifierSpec) -> FoldFit:
    """Executor task: fold ``item[1]`` of problem ``item[0]`` (seeded by both)."""
    key, fold = item
    problem = problems[key]
    with thread_limit(spec.threads):
        return fit_fold(fold, problem.x, problem.y, problem.folds_of, spec)
