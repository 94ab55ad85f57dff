"""The naive reference trainer, for ``lhcad bench`` only.

This is how the reference study and most notebooks train an ensemble: one plain ``nn.Module``
per member, trained one after the other over a ``DataLoader(TensorDataset(x), shuffle=True)``
with each batch moved to the device. Same architecture, initialisation, loss, optimizer, batch
size and epochs as lhcad's trainer; it exists to measure lhcad's speedup against, never to train
analyses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lhcad.models.trainer import TrainSettings, resolve_device, train_model
from lhcad.models.vae import ACTIVATIONS, VAEArchitecture, kl_to_prior, reconstruction_error


class PlainVAE(nn.Module):
    """A single dense VAE written the usual way, with ``nn.Linear`` layers.

    Layers are created in the order :class:`~lhcad.models.vae.EnsembleVAE` initialises them, so
    after ``torch.manual_seed(s)`` it holds the weights of an ensemble member with seed ``s``.
    """

    def __init__(self, arch: VAEArchitecture):
        super().__init__()
        n_hidden, activation = len(arch.hidden), ACTIVATIONS[arch.activation]
        linear = [nn.Linear(n_in, n_out) for n_in, n_out in arch.layer_sizes()]
        self.encoder = nn.Sequential(*[m for layer in linear[:n_hidden] for m in (layer, activation())])
        self.mean, self.logvar = linear[n_hidden : n_hidden + 2]
        decoder = [m for layer in linear[n_hidden + 2 : -1] for m in (layer, activation())]
        self.decoder = nn.Sequential(*decoder, linear[-1])
        self.arch = arch

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch-mean reconstruction loss and KL."""
        h = self.encoder(x)
        z_mean, z_logvar = self.mean(h), self.logvar(h)
        out = self.decoder(z_mean + torch.exp(0.5 * z_logvar) * noise)
        mean, logvar = out.chunk(2, dim=-1) if self.arch.recon_loss == "gaussian_nll" else (out, None)
        return reconstruction_error(x, mean, logvar).mean(), kl_to_prior(z_mean, z_logvar).mean()


def train_naive_reference(
    arch: VAEArchitecture, settings: TrainSettings, x_train: np.ndarray, seeds: Sequence[int]
) -> float:
    """Train one plain VAE per seed, one after the other, through :func:`~lhcad.models.trainer.train_model`
    fed by a ``DataLoader`` (each batch moved to the device in the loss, noise from torch's global
    generator), without validation; returns the total wall time in seconds."""
    device = resolve_device(settings.device)
    data = TensorDataset(torch.as_tensor(np.asarray(x_train, dtype=np.float32)))

    def loss(model: nn.Module, batch: tuple[torch.Tensor, ...], _: torch.Generator) -> torch.Tensor:
        x = batch[0].to(device)
        recon, kl = model(x, torch.randn(len(x), arch.latent_dim, device=device))
        return recon + arch.beta * kl

    t0 = time.perf_counter()
    for seed in seeds:
        torch.manual_seed(seed)
        loader = DataLoader(data, batch_size=settings.batch_size, shuffle=True)
        train_model(PlainVAE(arch), loss, loader, None, settings, seed)
    return time.perf_counter() - t0
