"""Customer identity: identifier normalisation and protection, and the customer key used by projections."""
