"""Tamper-evident history: event hashes, the hash chain, Merkle checkpoints and their verification (pure)."""
