"""Lossy compression of event tables (``lhcad compress``): a dense autoencoder or VAE, or the
physics-aware quantising codec.

A network standardises a table's floating-point columns, encodes them into ``K`` latent values
per event and stores them with the decoder that restores them in one self-contained ``.lhcz``
file; the quantising codec stores each quantity (jet pT, eta, phi, mass, tau_N, mjj, other
columns) to a chosen precision and entropy-codes it with zstd. The other columns travel
losslessly beside them.

- :mod:`~lhcad.families.compress.model`: the AE/VAE (Baler's 200-100-50-K-50-100-200) and its losses.
- :mod:`~lhcad.families.compress.container`: the ``.lhcz`` file (zip of a JSON header and ``.npy``
  arrays with sha256 checksums; never pickle).
- :mod:`~lhcad.families.compress.quant`: the quantising codec (no network, errors bounded by a
  chosen precision).
- :mod:`~lhcad.families.compress.codec`: train, compress a table, decompress a file.
- :mod:`~lhcad.families.compress.metrics`: residuals, derived physics after the round trip, sizes.
- :mod:`~lhcad.families.compress.report`: figures and the HTML page of ``analyses/compress_*.yaml``.
"""

from __future__ import annotations

#: The networks: a plain autoencoder and a VAE (decompressed from its latent means).
MODEL_KINDS: tuple[str, ...] = ("ae", "vae")
#: Every compressor ``lhcad compress --model`` takes: the networks and the quantising codec.
CODEC_KINDS: tuple[str, ...] = (*MODEL_KINDS, "quant")
#: Storage types of the latent values.
LATENT_DTYPES: tuple[str, ...] = ("float16", "float32")
