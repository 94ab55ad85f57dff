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

import numpy as np
from scipy.stats import wasserstein_distance

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
