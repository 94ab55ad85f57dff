"""The energy flow polynomials of JetNet's W1EFP (Komiske, Metodiev, Thaler, arXiv:1712.07124),
computed with numpy, without the ``energyflow`` package.

JetNet (``jetnet.evaluation.efps``) uses the EFPs of the hadronic measure with beta = 1 and
unnormalised pT, of every connected multigraph with 4 vertices and 4 edges (``EFPSet(("n==", 4),
("d==", 4), ("p==", 1), measure="hadr", beta=1, normed=None, coords="ptyphim")``): five graphs.
With ``z_i = pT_i`` and ``theta_ij = sqrt(d_eta^2 + d_phi^2)`` an EFP is the sum over all
4-tuples of particles of ``z_a z_b z_c z_d`` times the product of ``theta`` over the graph's edges.
Each graph is a product of small matrices here (``M_ij = theta_ij z_j``, ``s = theta z``,
``u = theta^2 z``), so a jet costs ``O(P^3)``, not ``O(P^4)``:

* star with a doubled edge ``[(0,1), (0,2), (0,2), (0,3)]``: ``sum_c z_c u_c s_c^2``;
* path with a doubled end ``[(0,1), (0,2), (0,2), (1,3)]``: ``sum_bc z_b u_b theta_bc z_c s_c``;
* path with a doubled middle ``[(0,1), (0,1), (0,2), (1,3)]``:
  ``sum_bc z_b s_b theta_bc^2 z_c s_c``;
* triangle with a tail ``[(0,1), (0,2), (1,2), (0,3)]``: ``sum_c (M^3)_cc s_c``;
* square ``[(0,1), (0,2), (1,3), (2,3)]``: ``trace(M^4)``.

The order is ``energyflow``'s. Differences of phi are taken as given (JetNet's relative phi is
already within [-pi, pi) of the jet axis).
"""

from __future__ import annotations

import numpy as np

#: The five graphs, in the order of :func:`jetnet_efps`'s columns (``energyflow``'s edge lists).
EFP_GRAPHS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 1), (0, 2), (0, 2), (0, 3)),
    ((0, 1), (0, 2), (0, 2), (1, 3)),
    ((0, 1), (0, 1), (0, 2), (1, 3)),
    ((0, 1), (0, 2), (1, 2), (0, 3)),
    ((0, 1), (0, 2), (1, 3), (2, 3)),
)


def jetnet_efps(points: np.ndarray, mask: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """The five EFPs ``(N, 5)`` of JetNet's W1EFP of jets ``(eta_rel, phi_rel, pT_rel)``
    ``(N, P, 3)`` with masks ``(N, P)`` (padding carries no pT)."""
    points = np.asarray(points, np.float64)
    mask = np.asarray(mask, bool)
    if points.ndim != 3 or points.shape[2] < 3 or mask.shape != points.shape[:2]:
        raise ValueError(
            f"expected points (N, P, 3) and mask (N, P), got {points.shape} and {mask.shape}"
        )
    return np.concatenate(
        [_efps(points[i : i + chunk], mask[i : i + chunk]) for i in range(0, len(points), chunk)]
        or [np.zeros((0, len(EFP_GRAPHS)))]
    )


def _efps(points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    z = np.where(mask, points[..., 2], 0.0)
    d_eta = points[..., :, None, 0] - points[..., None, :, 0]
    d_phi = points[..., :, None, 1] - points[..., None, :, 1]
    theta2 = d_eta**2 + d_phi**2
    theta = np.sqrt(theta2)
    s = np.einsum("nij,nj->ni", theta, z)
    u = np.einsum("nij,nj->ni", theta2, z)
    m = theta * z[:, None, :]
    m2 = m @ m
    star = (z * u * s**2).sum(1)
    end = np.einsum("nb,nbc,nc->n", z * u, theta, z * s)
    middle = np.einsum("nb,nbc,nc->n", z * s, theta2, z * s)
    tail = (np.einsum("nij,nji->ni", m2, m) * s).sum(1)
    square = np.einsum("nij,nji->n", m2, m2)
    return np.stack([star, end, middle, tail, square], axis=1)
