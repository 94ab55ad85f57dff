"""A convolutional VAE for sparse 125 x 125 x 3 jet images, and its input normalisation.

The seed study flattened its 64 x 32 x 32 feature map into a 65536 -> 1024 dense layer (67M
parameters, ~490 s per epoch on 6.4k images). Here a first layer on 5 x 5 pixel patches (one
HCAL tower each) and two stride-2 convolutions bring the image to 7 x 7, and a small linear layer
maps that to the latent mean and log-variance; the decoder mirrors it with transposed
convolutions. With the default channels (16, 32, 64) the model has ~0.1M parameters.

Jet images are sparse (a few dozen lit pixels) with a steep positive spectrum, so each channel is
normalised as ``min(f(x) / f(saturation), 1)`` with ``f(x) = log(1 + x / scale)`` (or ``x / scale``),
which maps every pixel into [0, 1]: the range a Bernoulli (BCE) decoder models, and a compressed
range in which an MSE loss is not dominated by the hardest pixel. The loss is summed over the
pixels of each channel, so :func:`channel_losses` gives the reconstruction error per channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lhcad.families.jet_images.geometry import IMAGE_SIZE

Normalisation = Literal["log", "linear"]
#: Initial bias of the decoder's output layer for a BCE loss: sigmoid(-6) = 0.0025, an empty pixel.
EMPTY_PIXEL_BIAS = -6.0
ReconLoss = Literal["bce", "mse"]


def normalise_images(
    images: np.ndarray,
    scales: Sequence[float],
    saturation: Sequence[float],
    kind: Normalisation = "log",
) -> np.ndarray:
    """``(N, 125, 125, 3)`` GeV images -> ``(N, 3, 125, 125)`` float32 in [0, 1] (see module)."""
    scale = np.asarray(scales, dtype=np.float32)
    top = np.asarray(saturation, dtype=np.float32)
    if kind == "log":
        values, full = np.log1p(np.maximum(images, 0) / scale), np.log1p(top / scale)
    else:
        values, full = np.maximum(images, 0) / scale, top / scale
    return np.ascontiguousarray(
        np.minimum(values / full, 1.0).astype(np.float32).transpose(0, 3, 1, 2)
    )


class ConvVAE(nn.Module):
    """Convolutional VAE: ``(B, C, 125, 125)`` in [0, 1] -> latent -> ``(B, C, 125, 125)`` logits
    (BCE) or values (MSE).

    ``output_bias`` starts every output pixel at an empty one (-6 for BCE logits, 0 for MSE).
    The first layer reads non-overlapping ``patch`` x ``patch`` pixel blocks (5: one HCAL tower,
    125 = 25 x 5, so nothing is padded or cropped); each further layer is a stride-2 3 x 3
    convolution (25 -> 13 -> 7 pixels). The decoder mirrors it with transposed convolutions.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: Sequence[int] = (16, 32, 64),
        latent_dim: int = 8,
        patch: int = 5,
        output_bias: float = EMPTY_PIXEL_BIAS,
    ):
        super().__init__()
        if IMAGE_SIZE % patch:
            raise ValueError(f"the patch ({patch}) must divide the image size ({IMAGE_SIZE})")
        widths = [in_channels, *channels]
        sides = [IMAGE_SIZE // patch]
        for _ in channels[1:]:
            sides.append((sides[-1] + 1) // 2)
        self.latent_dim = latent_dim
        self.side = sides[-1]
        self._top_width = widths[-1]
        encoder: list[nn.Module] = [
            nn.Conv2d(in_channels, channels[0], patch, stride=patch),
            nn.LeakyReLU(0.1),
        ]
        for a, b in pairwise(widths[1:]):
            encoder += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.LeakyReLU(0.1)]
        self.encoder = nn.Sequential(*encoder, nn.Flatten())
        flat = widths[-1] * self.side**2
        self.to_latent = nn.Linear(flat, 2 * latent_dim)
        self.from_latent = nn.Sequential(nn.Linear(latent_dim, flat), nn.LeakyReLU(0.1))
        decoder: list[nn.Module] = []
        for k in range(len(channels) - 1, 0, -1):
            extra = sides[k - 1] - (2 * sides[k] - 1)
            decoder += [
                nn.ConvTranspose2d(
                    widths[k + 1], widths[k], 3, stride=2, padding=1, output_padding=extra
                ),
                nn.LeakyReLU(0.1),
            ]
        last = nn.ConvTranspose2d(channels[0], in_channels, patch, stride=patch)
        # jet images are almost empty: start from (nearly) empty reconstructions
        nn.init.constant_(last.bias, output_bias)
        self.decoder = nn.Sequential(*decoder, last)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Latent mean and log-variance of images ``(B, C, 125, 125)``."""
        mean, logvar = self.to_latent(self.encoder(x)).chunk(2, dim=1)
        return mean, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Decoder output (logits or values) ``(B, C, 125, 125)``."""
        return self.decoder(self.from_latent(z).view(-1, self._top_width, self.side, self.side))

    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decoded output, latent mean and log-variance (sampled with ``generator`` in training)."""
        mean, logvar = self.encode(x)
        if self.training:
            noise = torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
            z = mean + noise * torch.exp(0.5 * logvar)
        else:
            z = mean
        return self.decode(z), mean, logvar


def reconstruction(output: torch.Tensor, loss: ReconLoss) -> torch.Tensor:
    """The decoder output as an image in [0, 1] (BCE) or the normalised range (MSE)."""
    return torch.sigmoid(output) if loss == "bce" else output


def channel_losses(output: torch.Tensor, x: torch.Tensor, loss: ReconLoss) -> torch.Tensor:
    """Reconstruction loss of each image and channel, summed over pixels: ``(B, C)``."""
    if loss == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(output, x, reduction="none")
    else:
        per_pixel = (output - x) ** 2
    return per_pixel.sum(dim=(2, 3))


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, 1)) of each image: ``(B,)``."""
    return 0.5 * (mean**2 + logvar.exp() - 1.0 - logvar).sum(dim=1)


def vae_loss(loss: ReconLoss, beta: float):
    """The per-image loss ``sum of channel losses + beta KL`` for :func:`lhcad.models.trainer.train_model`."""

    def loss_fn(
        model: nn.Module, batch: tuple[torch.Tensor, ...], generator: torch.Generator
    ) -> torch.Tensor:
        (x,) = batch
        output, mean, logvar = model(x, generator)
        return channel_losses(output, x, loss).sum(dim=1) + beta * kl_divergence(mean, logvar)

    return loss_fn


@torch.no_grad()
def image_scores(
    model: ConvVAE, x: np.ndarray, loss: ReconLoss, chunk: int = 512
) -> dict[str, np.ndarray]:
    """Per-image anomaly scores (higher = less QCD-like) and the latent means.

    Returns:
        ``recon_error`` (summed over channels), ``recon_<channel index>`` per channel, ``kl``,
        ``z_mean2`` (squared norm of the latent mean) and ``z_mean`` ``(N, latent_dim)``.
    """
    model.eval()
    device = next(model.parameters()).device
    parts: dict[str, list[np.ndarray]] = {"channels": [], "kl": [], "z_mean": []}
    for start in range(0, len(x), chunk):
        batch = torch.as_tensor(x[start : start + chunk], device=device)
        output, mean, logvar = model(batch)
        parts["channels"].append(channel_losses(output, batch, loss).cpu().numpy())
        parts["kl"].append(kl_divergence(mean, logvar).cpu().numpy())
        parts["z_mean"].append(mean.cpu().numpy())
    channels = np.concatenate(parts["channels"])
    z_mean = np.concatenate(parts["z_mean"])
    scores = {
        "recon_error": channels.sum(axis=1),
        "kl": np.concatenate(parts["kl"]),
        "z_mean2": (z_mean**2).sum(1),
    }
    scores.update({f"recon_{c}": channels[:, c] for c in range(channels.shape[1])})
    scores["z_mean"] = z_mean
    return scores


def denormalise_images(
    x: np.ndarray, scales: Sequence[float], saturation: Sequence[float], kind: Normalisation = "log"
) -> np.ndarray:
    """The inverse of :func:`normalise_images` below saturation: ``(N, 3, 125, 125)`` -> GeV
    ``(N, 125, 125, 3)``."""
    scale = np.asarray(scales, dtype=np.float64)
    top = np.asarray(saturation, dtype=np.float64)
    values = np.clip(x.transpose(0, 2, 3, 1).astype(np.float64), 0.0, 1.0)
    if kind == "log":
        images = scale * np.expm1(values * np.log1p(top / scale))
    else:
        images = values * top
    return images.astype(np.float32)
