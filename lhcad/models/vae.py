"""A vectorized ensemble of dense variational autoencoders.

K members with identical architecture and different seeds are one module whose weights carry a
leading member axis (``(K, in, out)``), so one batched matrix multiply (``torch.baddbmm``) runs
all members at once: K members cost about the wall time of one. Member k is initialised from
its own generator exactly as a one-member ensemble with the same seed would be, and nothing
couples members during training (the loss is a sum of per-member losses and the optimizers are
elementwise), so an ensemble member equals the model trained alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": F.relu,
    "elu": F.elu,
    "gelu": F.gelu,
    "silu": F.silu,
    "tanh": torch.tanh,
    "leaky_relu": F.leaky_relu,
}
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VAEArchitecture:
    """Shape and loss of one dense VAE (all ensemble members share it)."""

    n_inputs: int
    hidden: tuple[int, ...] = (32, 16)
    latent_dim: int = 2
    activation: str = "elu"
    beta: float = 1.0
    recon_loss: str = "mse"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if self.recon_loss not in ("mse", "gaussian_nll"):
            raise ValueError(f"unknown reconstruction loss {self.recon_loss!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VAEArchitecture:
        return cls(**{**data, "hidden": tuple(data["hidden"])})


class BatchedLinear(nn.Module):
    """K independent linear layers applied to ``(K, B, in)`` inputs."""

    def __init__(self, n_members: int, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_members, n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_members, 1, n_out))

    def reset_member(self, k: int, generator: torch.Generator) -> None:
        """nn.Linear's default initialisation (uniform in +-1/sqrt(fan_in)) for member k."""
        n_in, n_out = self.weight.shape[1:]
        bound = 1.0 / math.sqrt(n_in)
        with torch.no_grad():
            w = (torch.rand((n_out, n_in), generator=generator) * 2.0 - 1.0) * bound
            b = (torch.rand((n_out,), generator=generator) * 2.0 - 1.0) * bound
            self.weight[k].copy_(w.T)
            self.bias[k, 0].copy_(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleVAE(nn.Module):
    """K dense VAEs trained as one model (see the module docstring)."""

    def __init__(self, arch: VAEArchitecture, seeds: Sequence[int]):
        super().__init__()
        if not seeds:
            raise ValueError("an ensemble needs at least one member")
        self.arch = arch
        self.seeds = [int(s) for s in seeds]
        k = len(self.seeds)
        enc = [arch.n_inputs, *arch.hidden]
        self.encoder = nn.ModuleList(BatchedLinear(k, a, b) for a, b in zip(enc[:-1], enc[1:]))
        self.mean_head = BatchedLinear(k, enc[-1], arch.latent_dim)
        self.logvar_head = BatchedLinear(k, enc[-1], arch.latent_dim)
        dec = [arch.latent_dim, *reversed(arch.hidden)]
        self.decoder = nn.ModuleList(BatchedLinear(k, a, b) for a, b in zip(dec[:-1], dec[1:]))
        n_out = arch.n_inputs * (2 if arch.recon_loss == "gaussian_nll" else 1)
        self.output_head = BatchedLinear(k, dec[-1], n_out)
        self.activation = ACTIVATIONS[arch.activation]
        for member, seed in enumerate(self.seeds):
            generator = torch.Generator().manual_seed(seed)
            for layer in self._layers():
                layer.reset_member(member, generator)

    def _layers(self) -> list[BatchedLinear]:
        return [*self.encoder, self.mean_head, self.logvar_head, *self.decoder, self.output_head]

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def _per_member(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(0).expand(self.n_members, -1, -1) if x.dim() == 2 else x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_mean, z_logvar)``, each ``(K, B, L)``, for ``x`` of shape ``(B, F)`` or ``(K, B, F)``."""
        h = self._per_member(x)
        for layer in self.encoder:
            h = self.activation(layer(h))
        return self.mean_head(h), self.logvar_head(h)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Reconstructed mean ``(K, B, F)`` and, for the Gaussian NLL, its log-variance."""
        h = z
        for layer in self.decoder:
            h = self.activation(layer(h))
        out = self.output_head(h)
        if self.arch.recon_loss == "gaussian_nll":
            mean, logvar = out.chunk(2, dim=-1)
            return mean, logvar
        return out, None

    def event_terms(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-event reconstruction loss and KL, ``(K, B)`` each; ``noise=None`` decodes z_mean."""
        x = self._per_member(x)
        z_mean, z_logvar = self.encode(x)
        z = z_mean if noise is None else z_mean + torch.exp(0.5 * z_logvar) * noise
        mean, logvar = self.decode(z)
        if logvar is None:
            recon = (mean - x).pow(2).sum(-1)
        else:
            recon = 0.5 * (logvar + (x - mean).pow(2) * torch.exp(-logvar) + LOG_2PI).sum(-1)
        kl = -0.5 * (1.0 + z_logvar - z_mean.pow(2) - torch.exp(z_logvar)).sum(-1)
        return {"recon": recon, "kl": kl, "z_mean": z_mean, "z_logvar": z_logvar}

    def loss_terms(self, x: torch.Tensor, noise: torch.Tensor) -> dict[str, torch.Tensor]:
        """Batch means per member, ``(K,)``: ``loss = recon + beta * kl``."""
        terms = self.event_terms(x, noise)
        recon, kl = terms["recon"].mean(1), terms["kl"].mean(1)
        return {"loss": recon + self.arch.beta * kl, "recon": recon, "kl": kl}

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's weights (a copy), for checkpoints."""
        return {name: p[k].detach().cpu().clone() for name, p in self.named_parameters()}

    def load_member_state(self, k: int, state: dict[str, torch.Tensor]) -> None:
        """Overwrite member k's weights from :meth:`member_state` output."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                p[k].copy_(state[name].to(p.device))
