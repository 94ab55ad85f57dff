"""The stage runner: registry, cache keys, artifacts, manifests, locks, run records."""
