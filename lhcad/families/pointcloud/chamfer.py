"""The Chamfer distance between batches of point sets, masked, and the reconstruction losses built
on it.

For sets ``X = {x_i}`` and ``Y = {y_j}`` the Chamfer distance (the reference study's equation 1,
squared Euclidean distances)

    CD(X, Y) = sum_i min_j |x_i - y_j|^2 + sum_j min_i |x_i - y_j|^2

does not depend on the order of either set. Batches of sets of up to ``P`` points are tensors
``(B, P, F)`` with a boolean mask ``(B, P)``: masked-out (padding) points are neither matched nor
summed, so zero-padded "ghost particles" never enter the loss. All pairwise distances of a
batch come from one :func:`torch.cdist`; nothing loops over events, on CPU or CUDA.

The three losses of the reference study (:data:`CHAMFER_LOSSES`):

* ``positions`` (its eq. 1): Chamfer of the position columns only;
* ``positions_nearest_intensity`` (eq. 2): the position Chamfer plus, in both directions, the
  squared intensity difference between a point and its nearest neighbour in position;
* ``joint`` (eq. 3 and 4): Chamfer in the space of all features, e.g. ``(x, y, I)`` or
  ``(eta, phi, pT)``.
"""

from __future__ import annotations

from typing import Literal

import torch

ChamferLoss = Literal["positions", "positions_nearest_intensity", "joint"]
CHAMFER_LOSSES: tuple[str, ...] = ("positions", "positions_nearest_intensity", "joint")


def _all_true(points: torch.Tensor) -> torch.Tensor:
    return torch.ones(points.shape[:2], dtype=torch.bool, device=points.device)


def _masked_distances(
    x: torch.Tensor, y: torch.Tensor, x_mask: torch.Tensor, y_mask: torch.Tensor
) -> torch.Tensor:
    """Squared distances ``(B, P, Q)``, +inf wherever either point is padding."""
    distances = torch.cdist(x, y).square()
    valid = x_mask.unsqueeze(2) & y_mask.unsqueeze(1)
    return distances.masked_fill(~valid, torch.inf)


def _sum_valid(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-set sum of ``values`` ``(B, P)`` over the points of ``mask`` (a set without points, or
    without a partner to match, contributes 0 rather than inf)."""
    return torch.where(mask & torch.isfinite(values), values, torch.zeros_like(values)).sum(1)


def nearest(
    x: torch.Tensor,
    y: torch.Tensor,
    x_mask: torch.Tensor | None = None,
    y_mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nearest neighbours between the valid points of two batches of sets.

    Returns:
        ``(d_xy, k_xy, d_yx, k_yx)``: for every point of ``x`` the squared distance to its
        nearest valid point of ``y`` ``(B, P)`` and that point's index, and the same from ``y`` to
        ``x`` ``(B, Q)``. Distances of padding points (or of points with nothing to match) are
        +inf.
    """
    x_mask = _all_true(x) if x_mask is None else x_mask.bool()
    y_mask = _all_true(y) if y_mask is None else y_mask.bool()
    distances = _masked_distances(x, y, x_mask, y_mask)
    d_xy, k_xy = distances.min(dim=2)
    d_yx, k_yx = distances.min(dim=1)
    return d_xy, k_xy, d_yx, k_yx


def chamfer_distance(
    x: torch.Tensor,
    y: torch.Tensor,
    x_mask: torch.Tensor | None = None,
    y_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Chamfer distance ``(B,)`` between the sets ``x`` ``(B, P, F)`` and ``y`` ``(B, Q, F)``,
    counting only the points where the masks (``(B, P)``, ``(B, Q)``; default: all) are true.

    >>> x = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]])
    >>> chamfer_distance(x, x + torch.tensor([0.0, 0.5]))
    tensor([1.])
    """
    x_mask = _all_true(x) if x_mask is None else x_mask.bool()
    y_mask = _all_true(y) if y_mask is None else y_mask.bool()
    d_xy, _, d_yx, _ = nearest(x, y, x_mask, y_mask)
    return _sum_valid(d_xy, x_mask) + _sum_valid(d_yx, y_mask)


def _gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``values[b, index[b, i]]`` for ``values`` ``(B, Q)`` and ``index`` ``(B, P)``."""
    return torch.gather(values, 1, index)


def chamfer_loss(
    target: torch.Tensor,
    output: torch.Tensor,
    target_mask: torch.Tensor | None = None,
    output_mask: torch.Tensor | None = None,
    *,
    kind: ChamferLoss = "joint",
    n_positions: int = 2,
) -> torch.Tensor:
    """The reconstruction loss ``(B,)`` of the output sets against the target sets.

    Args:
        target: input sets ``(B, P, F)``; the first ``n_positions`` features are the position,
            feature ``n_positions`` the intensity (pixel intensity, particle pT).
        output: reconstructed sets ``(B, Q, F)``.
        target_mask: valid input points ``(B, P)`` (default: all).
        output_mask: output points that take part ``(B, Q)`` (default: all).
        kind: one of :data:`CHAMFER_LOSSES` (see the module docstring).
        n_positions: number of position features.
    """
    if kind == "joint":
        return chamfer_distance(target, output, target_mask, output_mask)
    if kind not in CHAMFER_LOSSES:
        raise ValueError(f"unknown Chamfer loss {kind!r} (choose from {', '.join(CHAMFER_LOSSES)})")
    target_mask = _all_true(target) if target_mask is None else target_mask.bool()
    output_mask = _all_true(output) if output_mask is None else output_mask.bool()
    positions = slice(0, n_positions)
    d_to, k_to, d_from, k_from = nearest(
        target[..., positions], output[..., positions], target_mask, output_mask
    )
    loss = _sum_valid(d_to, target_mask) + _sum_valid(d_from, output_mask)
    if kind == "positions":
        return loss
    intensity, out_intensity = target[..., n_positions], output[..., n_positions]
    # sum_i (I_i - I^_k^(i))^2 + sum_j (I_k(j) - I^_j)^2, k^ and k the nearest in position
    to_matched = (
        (intensity - _gather(out_intensity, k_to))
        .square()
        .masked_fill(~torch.isfinite(d_to), torch.inf)
    )
    from_matched = (
        (_gather(intensity, k_from) - out_intensity)
        .square()
        .masked_fill(~torch.isfinite(d_from), torch.inf)
    )
    return loss + _sum_valid(to_matched, target_mask) + _sum_valid(from_matched, output_mask)
