"""The VAE ensemble's architecture, member seeds and trainer settings from its ``train`` config
section (:class:`lhcad.config.vae.TrainConfig`, shared by the LHCO search and the digits family)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lhcad.config.vae import TrainConfig

if TYPE_CHECKING:
    from lhcad.models.trainer import TrainSettings
    from lhcad.models.vae import VAEArchitecture


def architecture(cfg: TrainConfig, n_inputs: int) -> VAEArchitecture:
    """The VAE architecture of a train config."""
    from lhcad.models.vae import VAEArchitecture

    m = cfg.model
    return VAEArchitecture(
        n_inputs=n_inputs, hidden=tuple(m.hidden), latent_dim=m.latent_dim, activation=m.activation, beta=m.beta, recon_loss=m.recon_loss
    )


def member_seeds(cfg: TrainConfig, global_seed: int) -> list[int]:
    """Distinct, reproducible seeds of the ensemble members."""
    return [1_000_003 * global_seed + cfg.seed + k for k in range(cfg.members)]


def settings_of(cfg: TrainConfig) -> TrainSettings:
    """The trainer settings of a train config."""
    from lhcad.models.trainer import TrainSettings

    return TrainSettings(
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        optimizer=cfg.optimizer,
        lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        patience=cfg.patience,
        grad_clip=cfg.grad_clip,
        device=cfg.device,
    )
