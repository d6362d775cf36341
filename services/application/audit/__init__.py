"""Audit use cases: the hash chain, proofs and verification, customer exports with proofs."""
