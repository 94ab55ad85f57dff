"""Names of the per-event VAE scores (importable without torch)."""

from __future__ import annotations

SCORE_NAMES: tuple[str, ...] = ("z_mean", "z_logvar", "z_mean2", "recon_error", "kl")
