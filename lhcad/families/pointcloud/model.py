"""The point-cloud VAE: a DeepSets encoder and a decoder that emits a set with a per-point mask.

Encoder: every valid point goes through the same MLP; the masked mean and masked max over the
points, and the fraction of occupied slots, are the permutation-invariant summary from which
``z_mean`` and ``z_logvar`` are computed (padding never reaches the summary).

Decoder: an MLP from ``z`` to ``P`` points of ``F`` features plus a mask logit per point. The
inputs hold their valid points first (ordered by pT or intensity), so slot ``i`` is occupied iff
``i < n``: the mask logits learn that prefix by binary cross-entropy, and the Chamfer term
compares the ``n`` valid input points with the first ``n`` output slots. Generation keeps the
slots whose mask probability exceeds 1/2.

The loss of an event is ``Chamfer + mask_weight x BCE(mask) + beta x KL``, the Chamfer variant
chosen among :data:`lhcad.families.pointcloud.chamfer.CHAMFER_LOSSES`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import pairwise

import torch
from torch import nn
from torch.nn import functional as F

from lhcad.families.pointcloud.chamfer import ChamferLoss, chamfer_loss


@dataclass(frozen=True)
class PointCloudArchitecture:
    """Shape and loss of a :class:`PointCloudVAE`.

    Attributes:
        n_points: slots per set ``P``.
        n_features: features per point ``F`` (positions first, then the intensity / pT).
        latent_dim: size of ``z``.
        hidden: width of the set-level MLPs.
        point_hidden: width of the per-point MLP.
        loss: the Chamfer variant.
        n_positions: number of position features (for the position-only variants).
        beta: weight of the KL term.
        mask_weight: weight of the mask cross-entropy.
    """

    n_points: int
    n_features: int
    latent_dim: int = 16
    hidden: int = 256
    point_hidden: int = 64
    loss: ChamferLoss = "joint"
    n_positions: int = 2
    beta: float = 1.0
    mask_weight: float = 1.0

    def to_dict(self) -> dict:
        return asdict(self)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.1))
    return nn.Sequential(*layers)


class PointCloudVAE(nn.Module):
    """VAE over padded point sets ``(B, P, F)`` with masks ``(B, P)``."""

    def __init__(self, arch: PointCloudArchitecture) -> None:
        super().__init__()
        self.arch = arch
        ph, h = arch.point_hidden, arch.hidden
        self.point_net = _mlp([arch.n_features, ph, ph, ph])
        self.set_net = _mlp([2 * ph + 1, h, h, 2 * arch.latent_dim])
        self.decoder = _mlp([arch.latent_dim, h, h, arch.n_points * (arch.n_features + 1)])

    def encode(self, points: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z_mean`` and ``z_logvar`` ``(B, latent_dim)``, invariant under permutations of the
        points and blind to padding."""
        mask_f = mask.unsqueeze(-1).to(points.dtype)
        h = self.point_net(points)
        count = mask_f.sum(1)
        mean = (h * mask_f).sum(1) / count.clamp(min=1.0)
        peak = h.masked_fill(~mask.unsqueeze(-1), -torch.inf).amax(1)
        peak = torch.where(count > 0, peak, torch.zeros_like(peak))
        summary = torch.cat([mean, peak, count / self.arch.n_points], dim=1)
        z_mean, z_logvar = self.set_net(summary).chunk(2, dim=1)
        return z_mean, z_logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Points ``(B, P, F)`` and mask logits ``(B, P)``."""
        out = self.decoder(z).view(len(z), self.arch.n_points, self.arch.n_features + 1)
        return out[..., :-1], out[..., -1]

    def event_terms(
        self, points: torch.Tensor, mask: torch.Tensor, noise: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Per-event ``recon`` (Chamfer), ``mask`` (cross-entropy summed over slots), ``kl`` and
        ``loss`` ``(B,)``; ``noise`` ``(B, latent_dim)`` samples z (None: z = z_mean)."""
        mask = mask.bool()
        z_mean, z_logvar = self.encode(points, mask)
        z = z_mean if noise is None else z_mean + noise * (0.5 * z_logvar).exp()
        decoded, logits = self.decode(z)
        slots = torch.arange(self.arch.n_points, device=points.device)
        occupied = slots.unsqueeze(0) < mask.sum(1, keepdim=True)
        recon = chamfer_loss(
            points, decoded, mask, occupied, kind=self.arch.loss, n_positions=self.arch.n_positions
        )
        mask_bce = F.binary_cross_entropy_with_logits(
            logits, occupied.to(logits.dtype), reduction="none"
        ).sum(1)
        kl = 0.5 * (z_mean.square() + z_logvar.exp() - 1.0 - z_logvar).sum(1)
        loss = recon + self.arch.mask_weight * mask_bce + self.arch.beta * kl
        return {"recon": recon, "mask": mask_bce, "kl": kl, "loss": loss}

    @torch.no_grad()
    def reconstruct(
        self, points: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded sets at z = z_mean, with the predicted masks."""
        decoded, logits = self.decode(self.encode(points, mask.bool())[0])
        return decoded, logits > 0

    @torch.no_grad()
    def generate(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` new sets decoded from z ~ N(0, 1), with their predicted masks."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.arch.latent_dim, generator=generator, device=device)
        decoded, logits = self.decode(z)
        return decoded, logits > 0


def vae_loss(
    model: nn.Module, batch: tuple[torch.Tensor, ...], generator: torch.Generator
) -> torch.Tensor:
    """Per-event training loss of a :class:`PointCloudVAE` on ``(points, mask)`` (the
    :func:`lhcad.models.trainer.train_model` loss function)."""
    points, mask = batch
    noise = torch.randn(
        len(points), model.arch.latent_dim, generator=generator, device=points.device
    )
    return model.event_terms(points, mask, noise)["loss"]
