"""Signed checkpoints: a statement of the tree over the first `tree_size` chained events, signed with Ed25519.

The signed bytes are the statement's text form (UTF-8, '\n' after every line):

    touchline.audit.checkpoint.v1
    <seq>
    <tree_size>
    <last_position>
    <root_hash, lowercase hex>
    <chain_head: the chain hash at last_position, lowercase hex>
    <issued_at, RFC 3339 UTC with microseconds>
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.audit.hashing import HASH_ALGORITHM

STATEMENT_HEADER = "touchline.audit.checkpoint.v1"


@dataclass(frozen=True, slots=True)
class CheckpointStatement:
    seq: int
    tree_size: int
    last_position: int
    root_hash: bytes
    chain_head: bytes
    issued_at: datetime

    def to_bytes(self) -> bytes:
        issued = self.issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines = [STATEMENT_HEADER, str(self.seq), str(self.tree_size), str(self.last_position),
                 self.root_hash.hex(), self.chain_head.hex(), issued]
        return "".join(f"{line}\n" for line in lines).encode()


def parse_statement(text: bytes) -> CheckpointStatement:
    """The statement a signed text states; ValueError unless `text` is exactly its `to_bytes()` form, so a reader
    takes root and size from the bytes the signature covers and nothing else."""
    lines = text.decode().split("\n")
    if len(lines) != 8 or lines[0] != STATEMENT_HEADER or lines[7] != "":
        raise ValueError("not a touchline.audit.checkpoint.v1 statement")
    issued = datetime.strptime(lines[6], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    statement = CheckpointStatement(int(lines[1]), int(lines[2]), int(lines[3]), bytes.fromhex(lines[4]),
                                    bytes.fromhex(lines[5]), issued)
    if statement.to_bytes() != text:
        raise ValueError("statement not in its canonical form")
    return statement


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    statement: CheckpointStatement
    signature: bytes
    key_id: str


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """First 8 bytes of SHA-256 over the raw public key, hex: names the key a checkpoint was signed with."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


def public_key_from_base64(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def sign(statement: CheckpointStatement, key: Ed25519PrivateKey) -> SignedCheckpoint:
    return SignedCheckpoint(statement, key.sign(statement.to_bytes()), key_id(key.public_key()))


def signature_valid(checkpoint: SignedCheckpoint, keys: dict[str, Ed25519PublicKey]) -> bool:
    """True when the checkpoint is signed by the trusted key it names."""
    key = keys.get(checkpoint.key_id)
    if key is None:
        return False
    try:
        key.verify(checkpoint.signature, checkpoint.statement.to_bytes())
    except InvalidSignature:
        return False
    return True


def trusted_keys(*keys: Ed25519PublicKey) -> dict[str, Ed25519PublicKey]:
    return {key_id(key): key for key in keys}


def checkpoint_json(checkpoint: SignedCheckpoint) -> dict[str, Any]:
    """A checkpoint as published: the statement's fields, the exact signed text, signature and key id."""
    s = checkpoint.statement
    return {"seq": s.seq, "tree_size": s.tree_size, "last_position": s.last_position, "root_hash": s.root_hash.hex(),
            "chain_head": s.chain_head.hex(), "issued_at": s.issued_at.isoformat(), "algorithm": HASH_ALGORITHM,
            "statement": s.to_bytes().decode(), "signature": base64.b64encode(checkpoint.signature).decode(),
            "key_id": checkpoint.key_id}
