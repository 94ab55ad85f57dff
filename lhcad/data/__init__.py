"""Reading events: official LHCO files, parquet, derived physics features, signal injection."""
