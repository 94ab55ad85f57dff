"""``lhcad bench --jet-images N``: seconds per training epoch of the convolutional VAE on N
synthetic 125 x 125 x 3 jet images (toy jets drawn into the real image geometry, so the
sparsity is realistic; the speed does not depend on the physics in the pixels)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lhcad.families.jet_images.geometry import jet_images

#: Particles per toy jet (generated quark/gluon jets near 100 GeV have 20-60).
TOY_PARTICLES = 40
WARMUP_IMAGES = 256


def toy_jet_images(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 125, 125, 3)`` images of toy jets: exponential pT, Gaussian spread of 0.1 around
    the axis, random particle categories."""
    rng = np.random.default_rng(seed)
    particles = np.stack(
        [
            rng.exponential(3.0, (n, TOY_PARTICLES)),
            rng.normal(0.0, 0.1, (n, TOY_PARTICLES)),
            rng.normal(0.0, 0.1, (n, TOY_PARTICLES)),
            rng.integers(1, 4, (n, TOY_PARTICLES)),
        ],
        axis=-1,
    ).astype(np.float32)
    return jet_images(particles, np.zeros((n, 4), dtype=np.float32))


def bench_conv_vae(n_images: int, device: str, batch_size: int = 128) -> dict[str, Any]:
    """Wall and CPU seconds of one training epoch of the default conv VAE over ``n_images``."""
    import torch

    from lhcad.families.jet_images.config import ConvVAEConfig
    from lhcad.families.jet_images.conv_vae import normalise_images, vae_loss
    from lhcad.models.trainer import TrainSettings, train_model
    from lhcad.families.jet_images.stages import build_model

    cfg = ConvVAEConfig()
    scaling = (cfg.scales, cfg.saturation, cfg.normalisation)
    block = 2048  # normalised block by block: peak memory ~ the normalised images
    x = np.concatenate(
        [
            normalise_images(toy_jet_images(min(block, n_images - start), seed=start), *scaling)
            for start in range(0, n_images, block)
        ]
    )
    val = x[:WARMUP_IMAGES]
    settings = TrainSettings(epochs=1, batch_size=batch_size, patience=None, device=device)
    loss = vae_loss(cfg.recon_loss, cfg.beta)
    torch.manual_seed(0)
    model = build_model(cfg)
    train_model(model, loss, [x[:WARMUP_IMAGES]], [val], settings, seed=0)  # warm-up
    cpu = time.process_time()
    result = train_model(model, loss, [x], [val], settings, seed=1)
    return {
        "jet_images": n_images,
        "conv_vae_seconds_per_epoch": result.seconds_per_epoch,
        "conv_vae_cpu_seconds_per_epoch": time.process_time() - cpu,
        "conv_vae_parameters": sum(p.numel() for p in model.parameters()),
        "conv_vae_torch_threads": torch.get_num_threads(),
    }
