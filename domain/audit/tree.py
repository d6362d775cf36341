"""The RFC 9162 Merkle tree over event hashes (pymerkle, fed leaf hashes directly) and its proofs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymerkle import BaseMerkleTree, ConsistencyProof, InclusionProof, InvalidProof, MerkleProof

from domain.audit.hashing import HASH_ALGORITHM

__all__ = ["EventHashTree", "InvalidProof", "consistency_proof_valid", "inclusion_proof_valid", "parse_proof"]


class EventHashTree(BaseMerkleTree):
    """A Merkle tree whose leaves are given as already computed RFC 9162 leaf hashes (event hashes).

    pymerkle hashes appended *entries* as leaves (SHA-256(0x00 ‖ entry)) and nodes as SHA-256(0x01 ‖ l ‖ r); event
    hashes already are such leaf hashes, so they are stored as they are (`extend`) and pymerkle does the rest: roots,
    inclusion and consistency proofs.
    """

    def __init__(self, hashes: Iterable[bytes] = ()) -> None:
        self._hashes: list[bytes] = []
        super().__init__(HASH_ALGORITHM)
        self.extend(hashes)

    def extend(self, hashes: Iterable[bytes]) -> int:
        """Append leaf hashes in log order; return the new size."""
        with self.lock:
            self._hashes.extend(hashes)
            return len(self._hashes)

    def _encode_entry(self, data: bytes) -> bytes:
        return data

    def _store_leaf(self, data: Any, digest: bytes) -> int:
        self._hashes.append(digest)
        return len(self._hashes)

    def _get_leaf(self, index: int) -> bytes:
        return self._hashes[index - 1]

    def _get_leaves(self, offset: int, width: int) -> list[bytes]:
        return self._hashes[offset:offset + width]

    def _get_size(self) -> int:
        return len(self._hashes)


def parse_proof(data: dict[str, Any]) -> MerkleProof:
    """A proof from its JSON form (pymerkle's `serialize()`); raises InvalidProof when malformed."""
    return MerkleProof.deserialize(data)


def inclusion_proof_valid(proof: dict[str, Any], leaf_hash: bytes, root: bytes, index: int, size: int) -> bool:
    try:
        parsed = InclusionProof.deserialize(proof)
        parsed.verify(leaf_hash, root, index=index, size=size, algorithm=HASH_ALGORITHM)
    except InvalidProof:
        return False
    return True


def consistency_proof_valid(proof: dict[str, Any], prior_root: bytes, later_root: bytes, prior_size: int,
                            later_size: int) -> bool:
    try:
        parsed = ConsistencyProof.deserialize(proof)
        parsed.verify(prior_root, later_root, prior_size=prior_size, later_size=later_size,
                      algorithm=HASH_ALGORITHM)
    except InvalidProof:
        return False
    return True
