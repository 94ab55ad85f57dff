"""Models: the vectorized VAE ensemble, its trainer, latent scores, and the naive reference."""
