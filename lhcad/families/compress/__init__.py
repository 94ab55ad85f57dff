"""Lossy compression of event tables with a dense autoencoder or VAE (``lhcad compress``).

A table's floating-point columns are standardised, encoded into ``K`` latent values per event
and stored with the decoder that restores them in one self-contained ``.lhcz`` file; the other
columns travel losslessly beside them.

- :mod:`~lhcad.families.compress.model`: the AE/VAE (Baler's 200-100-50-K-50-100-200) and its losses.
- :mod:`~lhcad.families.compress.container`: the ``.lhcz`` file (zip of a JSON header and ``.npy``
  arrays with sha256 checksums; never pickle).
- :mod:`~lhcad.families.compress.codec`: train, compress a table, decompress a file.
- :mod:`~lhcad.families.compress.metrics`: residuals, derived physics after the round trip, sizes.
- :mod:`~lhcad.families.compress.report`: figures and the HTML page of ``analyses/compress_*.yaml``.
"""

from __future__ import annotations

#: The compressors: a plain autoencoder and a VAE (decompressed from its latent means).
MODEL_KINDS: tuple[str, ...] = ("ae", "vae")
#: Storage types of the latent values.
LATENT_DTYPES: tuple[str, ...] = ("float16", "float32")
