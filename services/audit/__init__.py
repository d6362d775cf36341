"""Tamper-evident history: the chainer process, signed checkpoints, proofs and verification over the store."""
