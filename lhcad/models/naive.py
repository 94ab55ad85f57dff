"""The naive reference trainer, for ``lhcad bench`` only.

This is how the reference study and most notebooks train an ensemble: one plain ``nn.Module``
per member, trained one after the other over a ``DataLoader(TensorDataset(x), shuffle=True)``
with each batch moved to the device. Same architecture, loss, optimizer, batch size and epochs
as lhcad's trainer; it exists to measure lhcad's speedup against, never to train analyses.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lhcad.models.training import TrainSettings, make_optimizer, resolve_device
from lhcad.models.vae import ACTIVATIONS, VAEArchitecture


class PlainVAE(nn.Module):
    """A single dense VAE written the usual way."""

    def __init__(self, arch: VAEArchitecture):
        super().__init__()
        act = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}
        assert set(act) == set(ACTIVATIONS)
        enc, dec = [arch.n_inputs, *arch.hidden], [arch.latent_dim, *reversed(arch.hidden)]
        self.encoder = nn.Sequential(*[m for a, b in zip(enc[:-1], enc[1:]) for m in (nn.Linear(a, b), act[arch.activation]())])
        self.mean, self.logvar = nn.Linear(enc[-1], arch.latent_dim), nn.Linear(enc[-1], arch.latent_dim)
        self.decoder = nn.Sequential(
            *[m for a, b in zip(dec[:-1], dec[1:]) for m in (nn.Linear(a, b), act[arch.activation]())],
            nn.Linear(dec[-1], arch.n_inputs),
        )
        self.beta = arch.beta

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(x)
        mu, logvar = self.mean(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = (self.decoder(z) - x).pow(2).sum(-1).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1)).mean()
        return recon + self.beta * kl


def train_naive_reference(arch: VAEArchitecture, settings: TrainSettings, x_train: np.ndarray, seeds: Sequence[int]) -> float:
    """Train one plain VAE per seed, one after the other; returns the total wall time in seconds."""
    device = resolve_device(settings.device)
    data = TensorDataset(torch.as_tensor(np.asarray(x_train, dtype=np.float32)))
    t0 = time.perf_counter()
    for seed in seeds:
        torch.manual_seed(seed)
        model = PlainVAE(arch).to(device)
        optimizer = make_optimizer(model.parameters(), settings)
        loader = DataLoader(data, batch_size=settings.batch_size, shuffle=True)
        for _ in range(settings.epochs):
            for (batch,) in loader:
                loss = model(batch.to(device))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return time.perf_counter() - t0
