"""Mixtures of multivariate Bernoulli and binomial distributions, fitted by EM.

Each image is a vector ``x`` of D pixel counts in ``0..n`` (``n = 1``: binary pixels, the
Bernoulli mixture; ``n > 1``: ``n + 1`` grey levels, the binomial mixture) drawn from

    p(x) = sum_k pi_k prod_i Binomial(x_i | n, mu_ki).

EM, vectorised over images, pixels and components (two matrix products per iteration):

- E-step in log space: ``log p(x, k) = log pi_k + x . (log mu_k - log(1 - mu_k))
  + n sum_i log(1 - mu_ki) + sum_i log C(n, x_i)``; the responsibilities are
  ``exp(log p(x, k) - logsumexp_k log p(x, k))`` (the largest term is factored out, so nothing
  underflows however many pixels there are).
- M-step: ``pi_k = N_k / N`` and ``mu_k = sum_x r_xk x / (n N_k)``, clipped to
  ``[margin, 1 - margin]``. Per pixel the M-step objective ``a log mu + b log(1 - mu)`` is
  concave with its maximum at the unclipped value, so the clipped value is the exact maximum
  over the allowed interval: the log-likelihood still never decreases.

Why the reference study's binomial variant (n = 2) diverged after three iterations: it kept the
Bernoulli update ``mu_k = sum_x r_xk x / N_k`` with pixel values ``x`` in ``{0, 1, 2}``. That is
the cluster's mean pixel count, which lies in ``[0, n]``, not the binomial success probability
in ``[0, 1]``: the maximum-likelihood update divides by the number of trials n. A cluster's
mu stays below 1 only while no pixel is at full intensity in more than about half of its
images, i.e. while the cluster is still a mixture of several digits; as soon as a cluster is
pure enough, its stroke pixels get a mean count above 1, so ``mu > 1``, ``log(1 - mu)`` is
NaN, and the NaN spreads through that cluster's log-likelihood, its responsibilities and its
next mu. Clusters cross that line one by one, which is what the study saw: fine for a few
iterations, then "some clusters diverged" (its missing images). On scikit-learn's 8x8 digits,
where strokes fill much of the image, the undivided update already gives mu up to 2.0 after
the first iteration and NaN in every cluster after the second. Dividing by n (and keeping mu
inside (0, 1)) makes the binomial EM as monotone as the Bernoulli one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln, logsumexp


def quantise(images: np.ndarray, trials: int, threshold: float = 0.5) -> np.ndarray:
    """Images in [0, 1] as flat pixel counts ``(N, D)`` in ``0..trials``.

    ``trials = 1`` binarises at ``threshold``; otherwise [0, 1] is cut into ``trials + 1``
    equal grey-level bins.
    """
    flat = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if trials == 1:
        return (flat > threshold).astype(np.float64)
    return np.minimum(np.floor(flat * (trials + 1)), trials)


@dataclass
class MixtureFit:
    """A fitted mixture and how the fit went.

    Attributes:
        mu: component success probabilities ``(K, D)``.
        pi: mixing weights ``(K,)``.
        trials: n of the binomial (1: Bernoulli).
        log_likelihood: total log-likelihood of the data before the first iteration and after
            each iteration (``iterations + 1`` values).
        iterations: EM iterations run.
        converged: the relative change fell below the tolerance.
        snapshots: iteration -> ``mu`` after that iteration (the iterations asked for and run).
        restart: which restart this is (the best of several).
        restart_log_likelihoods: final log-likelihood of every restart.
    """

    mu: np.ndarray
    pi: np.ndarray
    trials: int
    log_likelihood: list[float]
    iterations: int
    converged: bool
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)
    restart: int = 0
    restart_log_likelihoods: list[float] = field(default_factory=list)


def log_joint(x: np.ndarray, mu: np.ndarray, pi: np.ndarray, trials: int) -> np.ndarray:
    """``log p(x, k)`` ``(N, K)`` without the binomial coefficients (equal for every k)."""
    log_mu, log_not_mu = np.log(mu), np.log1p(-mu)
    with np.errstate(divide="ignore"):  # an emptied component has pi = 0: log 0 = -inf
        log_pi = np.log(pi)
    return x @ (log_mu - log_not_mu).T + trials * log_not_mu.sum(1) + log_pi


def log_binomial_coefficients(x: np.ndarray, trials: int) -> float:
    """``sum over images and pixels of log C(n, x)`` (0 for the Bernoulli)."""
    if trials == 1:
        return 0.0
    return float((gammaln(trials + 1) - gammaln(x + 1) - gammaln(trials - x + 1)).sum())


def log_likelihood(x: np.ndarray, mu: np.ndarray, pi: np.ndarray, trials: int) -> float:
    """Total log-likelihood of the counts ``x`` ``(N, D)`` under the mixture."""
    total = logsumexp(log_joint(x, mu, pi, trials), axis=1).sum()
    return float(total) + log_binomial_coefficients(x, trials)


def _check_counts(x: np.ndarray, trials: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0 or x.shape[1] == 0:
        raise ValueError(f"expected counts of shape (N, D) with N, D > 0, got {x.shape}")
    if not np.all((x >= 0) & (x <= trials) & (x == np.round(x))):
        raise ValueError(f"counts must be integers in 0..{trials}")
    return x


def run_em(
    x: np.ndarray,
    mu: np.ndarray,
    pi: np.ndarray,
    *,
    trials: int = 1,
    margin: float = 1e-3,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    snapshots: Sequence[int] = (),
) -> MixtureFit:
    """EM from the given start ``mu`` ``(K, D)``, ``pi`` ``(K,)`` on counts ``x`` ``(N, D)``.

    Stops after ``max_iterations`` or when ``|dL| <= tolerance * |L|``.
    """
    x = _check_counts(x, trials)
    mu = np.clip(np.asarray(mu, dtype=np.float64), margin, 1.0 - margin)
    pi = np.asarray(pi, dtype=np.float64)
    constant = log_binomial_coefficients(x, trials)
    history: list[float] = []
    kept: dict[int, np.ndarray] = {}
    converged = False
    for iteration in range(max_iterations + 1):
        joint = log_joint(x, mu, pi, trials)
        per_image = logsumexp(joint, axis=1, keepdims=True)
        history.append(float(per_image.sum()) + constant)
        if iteration > 0 and abs(history[-1] - history[-2]) <= tolerance * abs(history[-1]):
            converged = True
            break
        if iteration == max_iterations:
            break
        responsibilities = np.exp(joint - per_image)
        counts = responsibilities.sum(0)
        pi = counts / len(x)
        weighted = responsibilities.T @ x
        alive = counts > 0
        mu = np.where(
            alive[:, None], weighted / (trials * np.where(alive, counts, 1.0))[:, None], mu
        )
        mu = np.clip(mu, margin, 1.0 - margin)
        if iteration + 1 in snapshots:
            kept[iteration + 1] = mu.copy()
    return MixtureFit(
        mu=mu,
        pi=pi,
        trials=trials,
        log_likelihood=history,
        iterations=len(history) - 1,
        converged=converged,
        snapshots=kept,
    )


def fit_mixture(
    x: np.ndarray,
    components: int,
    *,
    trials: int = 1,
    init_range: tuple[float, float] = (0.25, 0.75),
    dirichlet_alpha: float = 1.0,
    margin: float = 1e-3,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    restarts: int = 1,
    snapshots: Sequence[int] = (),
    rng: np.random.Generator | None = None,
) -> MixtureFit:
    """Fit a K-component mixture to counts ``x`` ``(N, D)`` in ``0..trials`` by EM.

    Each restart draws mu uniformly in ``init_range`` and pi from a symmetric Dirichlet; the
    restart with the highest final log-likelihood is returned.
    """
    if components < 1 or restarts < 1:
        raise ValueError("components and restarts must be positive")
    x = _check_counts(x, trials)
    rng = rng if rng is not None else np.random.default_rng()
    best: MixtureFit | None = None
    finals: list[float] = []
    for restart in range(restarts):
        mu0 = rng.uniform(*init_range, size=(components, x.shape[1]))
        pi0 = rng.dirichlet(np.full(components, dirichlet_alpha))
        fit = run_em(
            x,
            mu0,
            pi0,
            trials=trials,
            margin=margin,
            max_iterations=max_iterations,
            tolerance=tolerance,
            snapshots=snapshots,
        )
        fit.restart = restart
        finals.append(fit.log_likelihood[-1])
        if best is None or fit.log_likelihood[-1] > best.log_likelihood[-1]:
            best = fit
    assert best is not None
    best.restart_log_likelihoods = finals
    return best


def assign(x: np.ndarray, fit: MixtureFit) -> np.ndarray:
    """The most probable component of every image ``(N,)``."""
    return np.argmax(log_joint(np.asarray(x, dtype=np.float64), fit.mu, fit.pi, fit.trials), axis=1)


def sample(fit: MixtureFit, per_component: int, rng: np.random.Generator) -> np.ndarray:
    """``per_component`` images drawn from every component, as counts ``(K, S, D)``."""
    shape = (len(fit.mu), per_component, fit.mu.shape[1])
    return rng.binomial(fit.trials, np.broadcast_to(fit.mu[:, None, :], shape)).astype(np.float64)
