"""The VAE ensemble's architecture and member seeds from its ``train`` config
section (:class:`lhcad.config.vae.TrainConfig`, shared by the LHCO search and the digits family)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lhcad.config.vae import TrainConfig

if TYPE_CHECKING:
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
