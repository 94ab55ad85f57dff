"""The compressing networks: a dense autoencoder and its variational twin (Baler's layout).

Both map ``F`` standardised columns through hidden layers (200-100-50 by default) to ``K``
latent values and back through the mirrored decoder. The VAE adds a log-variance head beside
the mean head (the seed's "200-100-50-(K)(K)-50-100-200") and trains on reparametrised samples
with a KL term weighted by ``beta``; it compresses to the means, so both store ``K`` numbers
per event. Only the decoder travels in the compressed file.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from lhcad.families.compress import MODEL_KINDS
from lhcad.models.vae import ACTIVATIONS, kl_to_prior, reconstruction_error


@dataclass(frozen=True)
class CompressorArchitecture:
    """Shape and loss of a compressor.

    Attributes:
        n_inputs: number of compressed columns ``F``.
        latent_dim: latent values per event ``K``.
        hidden: encoder widths; the decoder mirrors them (empty: a linear map both ways).
        activation: one of :data:`lhcad.models.vae.ACTIVATIONS`.
        kind: ``ae`` or ``vae``.
        beta: weight of the KL term (VAE only).
    """

    n_inputs: int
    latent_dim: int
    hidden: tuple[int, ...] = (200, 100, 50)
    activation: str = "leaky_relu"
    kind: str = "ae"
    beta: float = 1e-3

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"unknown model {self.kind!r}, expected one of {MODEL_KINDS}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}, expected one of {sorted(ACTIVATIONS)}"
            )
        if self.n_inputs < 1 or self.latent_dim < 1 or any(width < 1 for width in self.hidden):
            raise ValueError("layer widths must be positive")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (what the compressed file's header records)."""
        return {**asdict(self), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CompressorArchitecture:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "hidden": tuple(data["hidden"])})


def _mlp(widths: list[int], activation: str, *, last_activation: bool) -> nn.Sequential:
    """Linear layers of the given widths, with the activation between them (and after the last
    one when ``last_activation``)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layers.append(nn.Linear(n_in, n_out))
        if last_activation or i < len(widths) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def build_decoder(arch: CompressorArchitecture) -> nn.Sequential:
    """The decoder alone: ``K`` -> mirrored hidden layers -> ``F`` (what decompression needs)."""
    return _mlp(
        [arch.latent_dim, *reversed(arch.hidden), arch.n_inputs],
        arch.activation,
        last_activation=False,
    )


class DenseCompressor(nn.Module):
    """Encoder, mean head (and log-variance head for the VAE), decoder.

    Args:
        arch: the architecture.
        seed: initialisation seed (the weights depend on nothing else).
    """

    def __init__(self, arch: CompressorArchitecture, seed: int = 0):
        super().__init__()
        self.arch = arch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoder = _mlp(
                [arch.n_inputs, *arch.hidden], arch.activation, last_activation=True
            )
            width = arch.hidden[-1] if arch.hidden else arch.n_inputs
            self.mean_head = nn.Linear(width, arch.latent_dim)
            self.logvar_head = nn.Linear(width, arch.latent_dim) if arch.kind == "vae" else None
            self.decoder = build_decoder(arch)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(z_mean, z_logvar)`` of ``x`` ``(B, F)``; the log-variance is None for the AE."""
        h = self.encoder(x)
        return self.mean_head(h), (self.logvar_head(h) if self.logvar_head is not None else None)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Standardised columns ``(B, F)`` from latents ``(B, K)``."""
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic round trip: decode the latent means."""
        return self.decode(self.encode(x)[0])


def compressor_loss(
    model: DenseCompressor, batch: tuple[torch.Tensor, ...], generator: torch.Generator
) -> torch.Tensor:
    """Per-event loss for :func:`lhcad.models.trainer.train_model`: the squared error summed over
    columns; for the VAE, of a reparametrised sample (the means in eval mode, so the validation
    loss is noise-free) plus ``beta`` times the KL divergence from the prior."""
    (x,) = batch
    z_mean, z_logvar = model.encode(x)
    if z_logvar is None:
        return reconstruction_error(x, model.decode(z_mean), None)
    z = z_mean
    if model.training:
        noise = torch.randn(z_mean.shape, generator=generator, device=z_mean.device)
        z = z_mean + torch.exp(0.5 * z_logvar) * noise
    recon = reconstruction_error(x, model.decode(z), None)
    return recon + model.arch.beta * kl_to_prior(z_mean, z_logvar)
