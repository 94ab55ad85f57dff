"""A point-set generator trained by conditional flow matching (Lipman et al., arXiv:2210.02747;
the straight "rectified" path of Liu et al., arXiv:2209.03003), the alternative to sampling the
Chamfer VAE's decoder.

A set of ``n`` valid points ``x1`` ``(P, F)`` (scaled features; slots ``>= n`` are padding) is
joined to Gaussian noise ``x0`` by the straight path ``x_t = (1 - t) x0 + t x1``; a network
``v(x_t, t, n)`` learns the path's velocity ``x1 - x0`` by mean squared error over the valid
points. Sampling draws ``n`` from the training multiplicities, ``x0`` from N(0, 1) and integrates
``dx/dt = v`` from t = 0 to 1 with a fixed number of midpoint (second-order Runge-Kutta) steps.

The velocity network is permutation-equivariant: every point is embedded by the same layers, and
the points talk only through multi-head self-attention whose keys are the valid points (padding
never reaches a valid point); the time and the multiplicity ``n / P`` enter every block as a
learnt shift. No positional encoding: the order of the slots means nothing to it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SetFlowArchitecture:
    """Shape of a :class:`SetFlow`.

    Attributes:
        n_points: slots per set ``P``.
        n_features: features per point ``F``.
        hidden: width of the point embeddings (a multiple of ``heads``).
        layers: attention blocks.
        heads: attention heads per block.
        frequencies: sine and cosine frequencies of the time embedding.
    """

    n_points: int
    n_features: int
    hidden: int = 64
    layers: int = 3
    heads: int = 4
    frequencies: int = 8

    def __post_init__(self) -> None:
        if self.hidden % self.heads:
            raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")

    def to_dict(self) -> dict:
        return asdict(self)


class _Block(nn.Module):
    """Pre-norm self-attention over the valid points, then a per-point MLP; the condition is
    added to the points before both."""

    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.condition = nn.Linear(hidden, 2 * hidden)
        self.norm_attention = nn.LayerNorm(hidden)
        self.attention = nn.MultiheadAttention(hidden, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(
            nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden)
        )

    def forward(self, h: torch.Tensor, c: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        shift_attention, shift_mlp = self.condition(c).unsqueeze(1).chunk(2, dim=-1)
        q = self.norm_attention(h) + shift_attention
        h = h + self.attention(q, q, q, key_padding_mask=padding, need_weights=False)[0]
        return h + self.mlp(self.norm_mlp(h) + shift_mlp)


class SetFlow(nn.Module):
    """The velocity ``v(x_t, t, n)`` ``(B, P, F)`` of padded sets ``(B, P, F)`` with masks."""

    def __init__(self, arch: SetFlowArchitecture) -> None:
        super().__init__()
        self.arch = arch
        h = arch.hidden
        self.embed = nn.Linear(arch.n_features, h)
        self.condition = nn.Sequential(
            nn.Linear(2 * arch.frequencies + 1, h), nn.GELU(), nn.Linear(h, h)
        )
        self.blocks = nn.ModuleList(_Block(h, arch.heads) for _ in range(arch.layers))
        self.norm = nn.LayerNorm(h)
        self.out = nn.Linear(h, arch.n_features)
        self.register_buffer(
            "omega", math.pi * torch.arange(1, arch.frequencies + 1, dtype=torch.float32)
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Velocities ``(B, P, F)`` at ``x`` ``(B, P, F)``, times ``t`` ``(B,)`` and masks
        ``(B, P)``; padding slots get zero."""
        angle = t.unsqueeze(1) * self.omega
        occupancy = mask.sum(1, keepdim=True).to(x.dtype) / self.arch.n_points
        c = self.condition(torch.cat([angle.sin(), angle.cos(), occupancy], dim=1))
        h = self.embed(x)
        for block in self.blocks:
            h = block(h, c, ~mask)
        return self.out(self.norm(h)) * mask.unsqueeze(-1).to(x.dtype)


def flow_matching_terms(
    model: SetFlow,
    points: torch.Tensor,
    mask: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
) -> torch.Tensor:
    """Per-set flow-matching loss ``(B,)``: the squared error of the velocity on the straight path
    from ``noise`` to ``points`` at times ``t`` ``(B,)``, summed over features and averaged over
    the valid points."""
    mask = mask.bool()
    weight = mask.unsqueeze(-1).to(points.dtype)
    x_t = (1.0 - t)[:, None, None] * noise + t[:, None, None] * points
    error = (model(x_t * weight, t, mask) - (points - noise) * weight).square()
    return error.sum((1, 2)) / mask.sum(1).clamp(min=1).to(points.dtype)


def flow_matching_loss(
    model: nn.Module, batch: tuple[torch.Tensor, ...], generator: torch.Generator
) -> torch.Tensor:
    """Per-set training loss of a :class:`SetFlow` on ``(points, mask)`` with t ~ U(0, 1) and
    Gaussian noise (the :func:`lhcad.models.trainer.train_model` loss function)."""
    points, mask = batch
    t = torch.rand(len(points), generator=generator, device=points.device)
    noise = torch.randn(points.shape, generator=generator, device=points.device)
    return flow_matching_terms(model, points, mask, t, noise)  # type: ignore[arg-type]


@torch.no_grad()
def integrate(model: SetFlow, noise: torch.Tensor, mask: torch.Tensor, steps: int) -> torch.Tensor:
    """Sets ``(B, P, F)`` carried from ``noise`` at t = 0 to t = 1 by ``steps`` midpoint steps of
    the learnt velocity; padding slots stay zero."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    mask = mask.bool()
    x = noise * mask.unsqueeze(-1).to(noise.dtype)
    dt = 1.0 / steps
    for i in range(steps):
        t = torch.full((len(x),), i * dt, dtype=x.dtype, device=x.device)
        half = x + 0.5 * dt * model(x, t, mask)
        x = x + dt * model(half, t + 0.5 * dt, mask)
    return x
