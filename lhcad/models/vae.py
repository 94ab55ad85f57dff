"""A vectorized ensemble of dense variational autoencoders.

K members with identical architecture and different seeds are one module whose weights carry a
leading member axis (``(K, in, out)`` and ``(K, 1, out)``), so one batched matrix multiply
(``torch.baddbmm``) runs all members at once: K members cost about the wall time of one.
Member k is initialised from its own generator exactly as a one-member ensemble with the same
seed would be, and nothing couples members during training (the loss is a sum of per-member
losses and the optimizers are elementwise), so an ensemble member equals the model trained
alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import torch
from torch import nn

#: Activation functions by config name (module classes, so a plain ``nn.Sequential`` VAE can
#: use the same table).
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}
RECON_LOSSES: tuple[str, ...] = ("mse", "gaussian_nll", "bce")
LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class VAEArchitecture:
    """Shape and loss of one dense VAE (all ensemble members share it).

    Attributes:
        n_inputs: number of input features.
        hidden: encoder layer widths; the decoder mirrors them.
        latent_dim: dimension of the latent space.
        activation: one of :data:`ACTIVATIONS`.
        beta: weight of the KL term in the loss.
        recon_loss: ``mse`` (squared error summed over features), ``gaussian_nll`` (the
            decoder also outputs a per-feature log-variance) or ``bce`` (a Bernoulli decoder:
            it outputs logits, the reconstruction is their sigmoid, the loss the binary
            cross-entropy summed over features; for inputs in [0, 1] such as images).
    """

    n_inputs: int
    hidden: tuple[int, ...] = (32, 16)
    latent_dim: int = 2
    activation: str = "elu"
    beta: float = 1.0
    recon_loss: str = "mse"

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}, expected one of {sorted(ACTIVATIONS)}")
        if self.recon_loss not in RECON_LOSSES:
            raise ValueError(f"unknown reconstruction loss {self.recon_loss!r}, expected one of {RECON_LOSSES}")
        if self.n_inputs < 1 or self.latent_dim < 1 or any(width < 1 for width in self.hidden):
            raise ValueError("layer widths must be positive")

    @property
    def n_outputs(self) -> int:
        """Width of the decoder's output layer (mean, and log-variance for the Gaussian NLL)."""
        return self.n_inputs * (2 if self.recon_loss == "gaussian_nll" else 1)

    def layer_sizes(self) -> list[tuple[int, int]]:
        """``(in, out)`` of every linear layer, in initialisation order: encoder, z_mean head,
        z_logvar head, decoder, output layer."""
        encoder = [self.n_inputs, *self.hidden]
        decoder = [self.latent_dim, *reversed(self.hidden)]
        return [
            *pairwise(encoder),
            (encoder[-1], self.latent_dim),
            (encoder[-1], self.latent_dim),
            *pairwise(decoder),
            (decoder[-1], self.n_outputs),
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VAEArchitecture:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "hidden": tuple(data["hidden"])})


def reconstruction_error(x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor | None) -> torch.Tensor:
    """Per-event reconstruction loss summed over features: squared error, or the Gaussian
    negative log-likelihood when the decoder gives a log-variance."""
    if logvar is None:
        return (mean - x).pow(2).sum(-1)
    return 0.5 * (logvar + (x - mean).pow(2) * torch.exp(-logvar) + LOG_2PI).sum(-1)


def bernoulli_nll(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-event binary cross-entropy summed over features, from the decoder's logits (stable
    for any logit; ``x`` may be grey levels in [0, 1], the usual relaxation for images)."""
    return nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def kl_to_prior(z_mean: torch.Tensor, z_logvar: torch.Tensor) -> torch.Tensor:
    """Per-event KL divergence of the Gaussian posterior from the standard-normal prior."""
    return -0.5 * (1.0 + z_logvar - z_mean.pow(2) - torch.exp(z_logvar)).sum(-1)


class BatchedLinear(nn.Module):
    """K independent linear layers applied to ``(K, B, in)`` inputs."""

    def __init__(self, n_members: int, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_members, n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_members, 1, n_out))

    def reset_member(self, k: int, generator: torch.Generator) -> None:
        """Initialise member k exactly as ``nn.Linear.reset_parameters`` would from ``generator``."""
        n_in, n_out = self.weight.shape[1:]
        weight = torch.empty(n_out, n_in)  # nn.Linear's layout, so the random stream matches
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bias = torch.empty(n_out)
        bound = 1.0 / math.sqrt(n_in)
        nn.init.uniform_(bias, -bound, bound, generator=generator)
        with torch.no_grad():
            self.weight[k].copy_(weight.T)
            self.bias[k, 0].copy_(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class EnsembleVAE(nn.Module):
    """K dense VAEs trained as one model (see the module docstring).

    Args:
        arch: the architecture every member shares.
        seeds: one initialisation seed per member.
    """

    def __init__(self, arch: VAEArchitecture, seeds: Sequence[int]):
        super().__init__()
        if len(seeds) == 0:
            raise ValueError("an ensemble needs at least one member")
        self.arch = arch
        self.seeds = [int(s) for s in seeds]
        k, n_hidden = len(self.seeds), len(arch.hidden)
        layers = [BatchedLinear(k, n_in, n_out) for n_in, n_out in arch.layer_sizes()]
        self.encoder = nn.ModuleList(layers[:n_hidden])
        self.mean_head, self.logvar_head = layers[n_hidden : n_hidden + 2]
        self.decoder = nn.ModuleList(layers[n_hidden + 2 : -1])
        self.output_head = layers[-1]
        self.activation = ACTIVATIONS[arch.activation]()
        for member, seed in enumerate(self.seeds):
            generator = torch.Generator().manual_seed(seed)
            for layer in layers:
                layer.reset_member(member, generator)

    @property
    def n_members(self) -> int:
        return len(self.seeds)

    def _per_member(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, F)`` -> ``(K, B, F)`` (a view); ``(K, B, F)`` passes through."""
        return x.unsqueeze(0).expand(self.n_members, -1, -1) if x.dim() == 2 else x

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z_mean, z_logvar)``, each ``(K, B, L)``, for ``x`` of shape ``(B, F)`` (the same
        events for every member) or ``(K, B, F)``."""
        h = self._per_member(x)
        for layer in self.encoder:
            h = self.activation(layer(h))
        return self.mean_head(h), self.logvar_head(h)

    def decoder_output(self, z: torch.Tensor) -> torch.Tensor:
        """The output layer ``(K, B, n_outputs)``: means, means and log-variances, or logits."""
        h = z
        for layer in self.decoder:
            h = self.activation(layer(h))
        return self.output_head(h)

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Reconstructed mean ``(K, B, F)`` (for ``bce`` the Bernoulli probabilities) and, for
        the Gaussian NLL, its log-variance (else None)."""
        out = self.decoder_output(z)
        if self.arch.recon_loss == "gaussian_nll":
            mean, logvar = out.chunk(2, dim=-1)
            return mean, logvar
        if self.arch.recon_loss == "bce":
            return torch.sigmoid(out), None
        return out, None

    def reconstruction_loss(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Per-event reconstruction loss ``(K, B)`` of ``x`` decoded from ``z``."""
        if self.arch.recon_loss == "bce":
            return bernoulli_nll(x, self.decoder_output(z))
        return reconstruction_error(x, *self.decode(z))

    def event_terms(
        self, x: torch.Tensor, noise: torch.Tensor | None = None, decode: bool = True
    ) -> dict[str, torch.Tensor]:
        """Per-event ``recon`` and ``kl`` ``(K, B)``, with ``z_mean``, ``z_logvar`` ``(K, B, L)``.

        ``noise`` (standard normal, ``(K, B, L)``) draws z by reparametrisation; ``None``
        decodes z_mean, which makes the result deterministic (validation, scoring). Without
        ``decode`` the decoder does not run and ``recon`` is left out (latent-space scores).
        """
        x = self._per_member(x)
        z_mean, z_logvar = self.encode(x)
        terms = {"kl": kl_to_prior(z_mean, z_logvar), "z_mean": z_mean, "z_logvar": z_logvar}
        if decode:
            z = z_mean if noise is None else z_mean + torch.exp(0.5 * z_logvar) * noise
            terms["recon"] = self.reconstruction_loss(x, z)
        return terms

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Same as :meth:`event_terms`."""
        return self.event_terms(x, noise)

    def loss_terms(self, x: torch.Tensor, noise: torch.Tensor) -> dict[str, torch.Tensor]:
        """Batch means per member, ``(K,)`` each: ``loss = recon + beta * kl``, ``recon``, ``kl``."""
        terms = self.event_terms(x, noise)
        recon, kl = terms["recon"].mean(1), terms["kl"].mean(1)
        return {"loss": recon + self.arch.beta * kl, "recon": recon, "kl": kl}

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's weights, copied to the CPU (for checkpoints)."""
        return {name: p[k].detach().cpu().clone() for name, p in self.named_parameters()}

    def load_member_state(self, k: int, state: dict[str, torch.Tensor]) -> None:
        """Overwrite member k's weights with :meth:`member_state` output."""
        with torch.no_grad():
            for name, p in self.named_parameters():
                p[k].copy_(state[name])
