"""The training settings of a dense VAE ensemble (``train``), shared by the LHCO resonance search
and the digits family; :mod:`lhcad.models.settings` turns them into the trainer's settings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from lhcad.config.section import PositiveInt, Section


class ModelConfig(Section):
    """Architecture of one dense VAE (every ensemble member shares it)."""

    hidden: list[PositiveInt] = Field(default_factory=lambda: [32, 16])
    """Hidden-layer widths of the encoder (the decoder mirrors them)."""
    latent_dim: PositiveInt = 2
    """Dimension of the latent space."""
    activation: Literal["relu", "elu", "gelu", "silu", "tanh", "leaky_relu"] = "elu"
    """Activation function between layers."""
    beta: Annotated[float, Field(ge=0.0)] = 1.0
    """Weight of the KL term in the loss."""
    recon_loss: Literal["mse", "gaussian_nll", "bce"] = "mse"
    """Reconstruction loss: mean squared error, Gaussian negative log-likelihood, or ``bce``:
    binary cross-entropy of a Bernoulli decoder (sigmoid outputs; inputs in [0, 1], e.g. images)."""


class TrainConfig(Section):
    """Training of the VAE ensemble (stage ``train``)."""

    model: ModelConfig = Field(default_factory=ModelConfig)
    """The VAE architecture (presets in ``configs/models/``)."""
    members: PositiveInt = 3
    """Ensemble size: members differ only in their seeds."""
    epochs: PositiveInt = 100
    """Maximum number of epochs."""
    batch_size: PositiveInt = 1024
    """Mini-batch size."""
    optimizer: Literal["adam", "adamw", "adadelta"] = "adam"
    """Optimizer (the reference study used Adadelta)."""
    lr: Annotated[float, Field(gt=0.0)] = 1e-3
    """Learning rate (Adadelta's usual value is 1.0)."""
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0
    """Weight decay."""
    patience: PositiveInt | None = 20
    """Early stopping: epochs without validation-loss improvement (null: never stop early)."""
    grad_clip: Annotated[float, Field(gt=0.0)] | None = None
    """Per-member gradient-norm clipping (null: off)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where to train: ``auto`` picks CUDA when present."""
    seed: int = 0
    """Base seed; member k uses seed + k."""
    track_auc: bool = True
    """With labels: compute every score's validation AUC after each epoch."""
