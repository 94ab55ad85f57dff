"""Per-event anomaly scores from the VAE ensemble's latent space.

For every event and member: ``z_mean``, ``z_logvar`` and ``z_mean2`` per latent dimension, the
reconstruction error (decoding z_mean) and the KL divergence to the prior. z_mean's sign is
arbitrary (it flips between initialisations), so each (member, dimension) is oriented to
correlate positively with that member's KL. Dimensions are aggregated (sum or max), members
combined (mean of robustly standardised scores, or mean of normalised ranks). Higher = more
anomalous for every score.
"""

from __future__ import annotations

import numpy as np
import torch

from lhcad.models.scoring_names import SCORE_NAMES
from lhcad.models.vae import EnsembleVAE

__all__ = ["SCORE_NAMES", "aggregate_latent", "combine_members", "event_scores", "latent_scores", "orient_z_mean"]


def latent_scores(
    model: EnsembleVAE, x: np.ndarray, *, batch_size: int = 262_144, device: torch.device | str | None = None
) -> dict[str, np.ndarray]:
    """Raw latent quantities in large chunks under ``torch.inference_mode``.

    Returns ``z_mean``, ``z_logvar``, ``z_mean2`` of shape ``(K, N, L)`` and ``recon_error``,
    ``kl`` of shape ``(K, N)``.
    """
    if device is not None:
        model = model.to(device)
    target = next(model.parameters()).device
    model.eval()
    parts: dict[str, list[np.ndarray]] = {"z_mean": [], "z_logvar": [], "recon_error": [], "kl": []}
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            chunk = torch.as_tensor(np.asarray(x[start : start + batch_size], dtype=np.float32), device=target)
            terms = model.event_terms(chunk)
            parts["z_mean"].append(terms["z_mean"].cpu().numpy())
            parts["z_logvar"].append(terms["z_logvar"].cpu().numpy())
            parts["recon_error"].append(terms["recon"].cpu().numpy())
            parts["kl"].append(terms["kl"].cpu().numpy())
    out = {name: np.concatenate(chunks, axis=1) for name, chunks in parts.items()}
    out["z_mean2"] = out["z_mean"] ** 2
    return out


def orient_z_mean(z_mean: np.ndarray, kl: np.ndarray) -> np.ndarray:
    """Flip each (member, latent dimension) of ``z_mean`` so it correlates positively with KL."""
    centred = z_mean - z_mean.mean(axis=1, keepdims=True)
    kl_centred = (kl - kl.mean(axis=1, keepdims=True))[:, :, None]
    sign = np.where((centred * kl_centred).sum(axis=1) < 0, -1.0, 1.0)
    return z_mean * sign[:, None, :]


def aggregate_latent(values: np.ndarray, how: str = "sum") -> np.ndarray:
    """Per-dimension scores ``(K, N, L)`` -> one score per member ``(K, N)``."""
    if how == "sum":
        return values.sum(axis=2)
    if how == "max":
        return values.max(axis=2)
    raise ValueError(f"unknown aggregation {how!r}")


def combine_members(scores: np.ndarray, how: str = "mean_standardized") -> np.ndarray:
    """Member scores ``(K, N)`` -> the ensemble score ``(N,)``.

    ``mean_standardized``: each member centred on its median and scaled by its interquartile
    range (robust to the long tails anomaly scores have), then averaged. ``rank_mean``: average
    of the normalised ranks.
    """
    if how == "mean_standardized":
        median = np.median(scores, axis=1, keepdims=True)
        q75, q25 = np.percentile(scores, [75, 25], axis=1, keepdims=True)
        scale = np.where(q75 - q25 > 0, q75 - q25, 1.0)
        return ((scores - median) / scale).mean(axis=0)
    if how == "rank_mean":
        ranks = scores.argsort(axis=1, kind="stable").argsort(axis=1, kind="stable")
        return (ranks / max(scores.shape[1] - 1, 1)).mean(axis=0)
    raise ValueError(f"unknown combination {how!r}")


def event_scores(
    raw: dict[str, np.ndarray], *, aggregate: str = "sum", combine: str = "mean_standardized"
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For every score name: (per-member scores ``(K, N)``, ensemble score ``(N,)``)."""
    per_member = {
        "z_mean": aggregate_latent(orient_z_mean(raw["z_mean"], raw["kl"]), aggregate),
        "z_logvar": aggregate_latent(raw["z_logvar"], aggregate),
        "z_mean2": aggregate_latent(raw["z_mean2"], aggregate),
        "recon_error": raw["recon_error"],
        "kl": raw["kl"],
    }
    return {name: (values, combine_members(values, combine)) for name, values in per_member.items()}
