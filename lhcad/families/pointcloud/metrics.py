"""JetNet's generative metrics (Kansal et al., arXiv:2106.11535, section 4): Wasserstein-1
distances between real and generated jets.

* W1M: between the distributions of the relative jet mass ``m / pT_jet`` computed from the
  particles (massless, from ``eta_rel``, ``phi_rel``, ``pT_rel``), as JetNet computes it;
* W1P: between the distributions of each particle feature over all valid particles, averaged
  over ``eta_rel``, ``phi_rel`` and ``pT_rel`` (the three are also reported apart);
* (not JetNet's) the W1 of log10(pT_rel), which shows how soft particles fare.

JetNet's published values are on 50 000 jets; with fewer jets the statistical floor of a W1 is
larger, so :func:`generative_metrics` also returns the same metrics between two halves of the real
sample, the value a perfect generator would get at this sample size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import wasserstein_distance

from lhcad.families.pointcloud.efp import jetnet_efps

PARTICLE_NAMES: tuple[str, ...] = ("eta_rel", "phi_rel", "pt_rel")


def relative_jet_mass(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``m / pT_jet`` ``(N,)`` of jets given as ``(eta_rel, phi_rel, pT_rel)`` ``(N, P, 3)`` with
    their masks, every particle massless."""
    points = np.asarray(points, np.float64)
    weight = np.asarray(mask, bool).astype(np.float64)
    eta, phi, pt = points[..., 0], points[..., 1], points[..., 2] * weight
    px, py = (pt * np.cos(phi)).sum(1), (pt * np.sin(phi)).sum(1)
    pz, energy = (pt * np.sinh(eta)).sum(1), (pt * np.cosh(eta)).sum(1)
    return np.sqrt(np.maximum(energy**2 - px**2 - py**2 - pz**2, 0.0))


def w1m(real: tuple[np.ndarray, np.ndarray], generated: tuple[np.ndarray, np.ndarray]) -> float:
    """W1 between the relative jet masses of real and generated ``(points, mask)``."""
    return float(wasserstein_distance(relative_jet_mass(*real), relative_jet_mass(*generated)))


def w1p(
    real: tuple[np.ndarray, np.ndarray], generated: tuple[np.ndarray, np.ndarray]
) -> dict[str, float]:
    """W1 of each particle feature over the valid particles, and their ``mean`` (JetNet's W1P)."""
    (real_points, real_mask), (gen_points, gen_mask) = real, generated
    distances = {
        name: float(
            wasserstein_distance(
                real_points[..., i][np.asarray(real_mask, bool)],
                gen_points[..., i][np.asarray(gen_mask, bool)],
            )
        )
        for i, name in enumerate(PARTICLE_NAMES)
    }
    distances["mean"] = float(np.mean(list(distances.values())))
    return distances


def w1_log_pt(
    real: tuple[np.ndarray, np.ndarray], generated: tuple[np.ndarray, np.ndarray]
) -> float:
    """W1 of log10(pT_rel) over the valid particles: unlike JetNet's linear pT_rel W1, which the
    hardest particles dominate, it weighs a soft particle's relative error like a hard one's."""
    (real_points, real_mask), (gen_points, gen_mask) = real, generated
    real_pt = real_points[..., 2][np.asarray(real_mask, bool)]
    gen_pt = gen_points[..., 2][np.asarray(gen_mask, bool)]
    return float(
        wasserstein_distance(
            np.log10(np.maximum(real_pt, 1e-6)), np.log10(np.maximum(gen_pt, 1e-6))
        )
    )


def generative_metrics(
    real: tuple[np.ndarray, np.ndarray], generated: tuple[np.ndarray, np.ndarray], seed: int = 0
) -> dict[str, float]:
    """W1M and W1P of ``generated`` against ``real``, and the same between two random halves of
    ``real`` (``*_real_halves``, the floor at this sample size)."""
    points, mask = real
    order = np.random.default_rng(seed).permutation(len(points))
    a, b = order[: len(order) // 2], order[len(order) // 2 :]
    halves = ((points[a], mask[a]), (points[b], mask[b]))
    particles, particles_floor = w1p(real, generated), w1p(*halves)
    out = {"w1m": w1m(real, generated), "w1m_real_halves": w1m(*halves)}
    for name in (*PARTICLE_NAMES, "mean"):
        key = "w1p" if name == "mean" else f"w1p_{name}"
        out[key], out[f"{key}_real_halves"] = particles[name], particles_floor[name]
    out["w1_log10_pt_rel"] = w1_log_pt((points, mask), generated)
    out["w1_log10_pt_rel_real_halves"] = w1_log_pt(*halves)
    return out



#: Batches of JetNet's bootstrap (``jetnet.evaluation``'s ``num_batches``).
BOOTSTRAP_BATCHES = 5


def _bootstrap(
    n_real: int,
    n_generated: int,
    distances: Callable[[np.ndarray, np.ndarray], list[float]],
    n_eval: int,
    n_batches: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(n_batches, K)``: the ``K`` distances between ``n_eval`` real and ``n_eval`` generated
    jets drawn with replacement (row indices handed to ``distances``), once per batch."""
    return np.array(
        [
            distances(rng.integers(0, n_real, n_eval), rng.integers(0, n_generated, n_eval))
            for _ in range(n_batches)
        ]
    )


def jetnet_scores(
    real: tuple[np.ndarray, np.ndarray],
    generated: tuple[np.ndarray, np.ndarray],
    n_eval: int | None = None,
    n_batches: int = BOOTSTRAP_BATCHES,
    seed: int = 0,
) -> dict[str, float]:
    """JetNet's W1M, W1P and W1EFP with bootstrapped errors, as ``jetnet.evaluation`` computes
    them: in each of ``n_batches`` batches, ``n_eval`` jets (default: as many as the smaller
    sample) are drawn with replacement from each sample and the W1 is taken between the two
    draws; a metric is the mean over the batches and ``<metric>_std`` their standard deviation.

    W1M: the relative jet mass. W1P: each particle feature over the valid particles of the drawn
    jets (``w1p_<feature>``), ``w1p`` their mean. W1EFP: the mean over the five EFPs of
    :mod:`lhcad.families.pointcloud.efp`.
    """
    (real_points, real_mask), (gen_points, gen_mask) = real, generated
    if len(real_points) == 0 or len(gen_points) == 0:
        raise ValueError("jetnet_scores needs at least one real and one generated jet")
    n_eval = n_eval or min(len(real_points), len(gen_points))
    rng = np.random.default_rng(seed)
    real_mask, gen_mask = np.asarray(real_mask, bool), np.asarray(gen_mask, bool)
    masses = relative_jet_mass(*real), relative_jet_mass(*generated)
    efps = jetnet_efps(real_points, real_mask), jetnet_efps(gen_points, gen_mask)

    def mass_w1(a: np.ndarray, b: np.ndarray) -> list[float]:
        return [wasserstein_distance(masses[0][a], masses[1][b])]

    def particle_w1(a: np.ndarray, b: np.ndarray) -> list[float]:
        distances = w1p((real_points[a], real_mask[a]), (gen_points[b], gen_mask[b]))
        return [distances[name] for name in PARTICLE_NAMES]

    def efp_w1(a: np.ndarray, b: np.ndarray) -> list[float]:
        return [wasserstein_distance(efps[0][a, i], efps[1][b, i]) for i in range(efps[0].shape[1])]

    out: dict[str, float] = {"n_eval": n_eval, "n_batches": n_batches}
    per_batch = {
        "w1m": _bootstrap(len(real_points), len(gen_points), mass_w1, n_eval, n_batches, rng),
        "w1p": _bootstrap(len(real_points), len(gen_points), particle_w1, n_eval, n_batches, rng),
        "w1efp": _bootstrap(len(real_points), len(gen_points), efp_w1, n_eval, n_batches, rng),
    }
    for i, name in enumerate(PARTICLE_NAMES):
        out[f"w1p_{name}"] = float(per_batch["w1p"][:, i].mean())
        out[f"w1p_{name}_std"] = float(per_batch["w1p"][:, i].std())
    for metric, values in per_batch.items():
        averaged = values.mean(1)
        out[metric], out[f"{metric}_std"] = float(averaged.mean()), float(averaged.std())
    return out
