"""The dense VAE on digit images: what its 2-D latent space shows.

The network and its training are the LHC analyses' own (:class:`~lhcad.models.vae.EnsembleVAE`
trained by :func:`~lhcad.models.ensemble.train_ensemble`), with a Bernoulli decoder
(``recon_loss: bce``) because the pixels are intensities in [0, 1]. This module reads the
trained model: the encoder means of the images, the decoder over a regular grid of latent
points, and reconstructions.
"""

from __future__ import annotations

import numpy as np
import torch

from lhcad.models.vae import EnsembleVAE


@torch.inference_mode()
def encode_means(model: EnsembleVAE, x: np.ndarray, member: int = 0) -> np.ndarray:
    """``z_mean`` ``(N, L)`` of one member for flat images ``x`` ``(N, D)``."""
    z_mean, _ = model.encode(torch.as_tensor(np.asarray(x, dtype=np.float32)))
    return z_mean[member].double().numpy()


@torch.inference_mode()
def decode(model: EnsembleVAE, z: np.ndarray, member: int = 0) -> np.ndarray:
    """Decoded images ``(N, D)`` (pixel means in [0, 1] for a Bernoulli decoder) of latent
    points ``z`` ``(N, L)``."""
    z_t = (
        torch.as_tensor(np.asarray(z, dtype=np.float32))
        .unsqueeze(0)
        .expand(model.n_members, -1, -1)
    )
    mean, _ = model.decode(z_t)
    return mean[member].double().numpy()


def latent_grid(size: int, extent: float) -> np.ndarray:
    """``size * size`` points ``(z0, z1)`` on a regular grid over ``[-extent, extent]^2``, row by
    row from the top (largest z1) down, each row from the smallest z0: the order in which the
    decoded images tile a figure."""
    axis = np.linspace(-extent, extent, size)
    z0, z1 = np.meshgrid(axis, axis[::-1])
    return np.stack([z0.ravel(), z1.ravel()], axis=1)


def reconstruct(model: EnsembleVAE, x: np.ndarray, member: int = 0) -> np.ndarray:
    """Reconstructions ``(N, D)`` of flat images: decode each image's ``z_mean``."""
    return decode(model, encode_means(model, x, member), member)
