"""Low-level file helpers every layer may use (the runner, the data formats, the families): writes
that never leave a half-written file (:mod:`lhcad.io.atomic`)."""
