"""Tamper-evident history, pure: hashes, chain, signed checkpoints, proofs and verification outcomes."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymerkle import InmemoryTree

from domain.audit.checkpoint import CheckpointStatement, SignedCheckpoint, sign, signature_valid, trusted_keys
from domain.audit.hashing import GENESIS, ChainLink, LogRow, chain_hash, event_hash, leaf_bytes, link
from domain.audit.tree import EventHashTree, consistency_proof_valid, inclusion_proof_valid
from domain.audit.verify import Reason, verify_log

pytestmark = pytest.mark.unit
KEY = Ed25519PrivateKey.generate()
KEYS = trusted_keys(KEY.public_key())
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def rows(n: int) -> list[LogRow]:
    return [LogRow(p, uuid.UUID(int=p), "touchline:call.received@v1", b'{"n":%d}' % p) for p in range(1, n + 1)]


def chain(log: list[LogRow]) -> list[ChainLink]:
    links: list[ChainLink] = []
    for row in log:
        links.append(link(row, links[-1] if links else None))
    return links


def checkpoint(links: list[ChainLink], size: int, seq: int, key: Ed25519PrivateKey = KEY) -> SignedCheckpoint:
    root = EventHashTree(item.event_hash for item in links[:size]).get_root()
    statement = CheckpointStatement(seq, size, links[size - 1].position, root, links[size - 1].chain_hash, AT)
    return sign(statement, key)


def rfc9162_root(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + rfc9162_root(hashes[:k]) + rfc9162_root(hashes[k:])).digest()


def test_event_hash_is_the_rfc9162_leaf_hash_of_the_position_bound_bytes() -> None:
    row = rows(1)[0]
    assert event_hash(row) == hashlib.sha256(b"\x00" + leaf_bytes(row)).digest()
    assert event_hash(replace(row, position=2)) != event_hash(row)
    assert chain_hash(GENESIS, event_hash(row)) == link(row, None).chain_hash


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 13])
def test_tree_root_matches_rfc9162_and_pymerkle(n: int) -> None:
    leaves = [f"e{i}".encode() for i in range(n)]
    reference = InmemoryTree.init_from_entries(leaves)
    hashes = [reference.get_leaf(i) for i in range(1, n + 1)]
    assert EventHashTree(hashes).get_root() == reference.get_root() == rfc9162_root(hashes)


def test_inclusion_and_consistency_proofs_verify_and_fail_for_a_wrong_leaf() -> None:
    links = chain(rows(13))
    tree = EventHashTree(item.event_hash for item in links)
    proof = tree.prove_inclusion(5, 13).serialize()
    assert inclusion_proof_valid(proof, links[4].event_hash, tree.get_root(), 5, 13)
    assert not inclusion_proof_valid(proof, links[5].event_hash, tree.get_root(), 5, 13)
    consistency = tree.prove_consistency(8, 13).serialize()
    assert consistency_proof_valid(consistency, tree.get_root(8), tree.get_root(), 8, 13)
    assert not consistency_proof_valid(consistency, tree.get_root(7), tree.get_root(), 8, 13)


def test_signature_binds_the_statement_and_the_key() -> None:
    signed = checkpoint(chain(rows(4)), 4, 1)
    assert signature_valid(signed, KEYS)
    assert not signature_valid(replace(signed, statement=replace(signed.statement, tree_size=3)), KEYS)
    assert not signature_valid(checkpoint(chain(rows(4)), 4, 1, Ed25519PrivateKey.generate()), KEYS)


def test_untouched_log_verifies_with_its_checkpoints_and_counts_the_unchained_tail() -> None:
    log = rows(20)
    links = chain(log[:15])
    verdict = verify_log(log, links, [checkpoint(links, 10, 1), checkpoint(links, 15, 2)], KEYS)
    assert verdict.ok and verdict.complete and verdict.checkpoints_verified == 2 and verdict.unchained == 5


def test_each_tampering_is_named_at_its_position() -> None:
    log = rows(20)
    links = chain(log)
    cps = [checkpoint(links, 10, 1), checkpoint(links, 20, 2)]
    changed = [*log[:6], replace(log[6], state=b'{"n":0}'), *log[7:]]
    assert verify_log(changed, links, cps, KEYS).finding.position == 7  # type: ignore[union-attr]
    missing = verify_log([r for r in log if r.position != 4], links, cps, KEYS).finding
    assert missing is not None and (missing.position, missing.reason) == (4, Reason.MISSING)
    forged = LogRow(100, uuid.uuid4(), log[0].topic, b"{}")
    assert verify_log([*log, forged], links, cps, KEYS).ok  # past the chain's head: not yet chained
    gap_links = [item for item in links if item.position != 5]
    bad = [replace(checkpoint(links, 10, 1), signature=bytes(64))]
    finding = verify_log(log, links, bad, KEYS).finding
    assert finding is not None and (finding.position, finding.reason) == (10, Reason.BAD_SIGNATURE)
    assert verify_log(log, gap_links, [], KEYS).finding.reason == Reason.UNEXPECTED  # type: ignore[union-attr]


def test_rewriting_log_and_chain_together_is_caught_by_the_signed_checkpoint() -> None:
    log = rows(20)
    cps = [checkpoint(chain(log), 10, 1)]
    rewritten = [*log[:3], replace(log[3], state=b'{"n":"forged"}'), *log[4:]]
    finding = verify_log(rewritten, chain(rewritten), cps, KEYS).finding
    assert finding is not None and finding.reason == Reason.CHECKPOINT_MISMATCH and "1..10" in finding.detail
    short = verify_log(log[:8], chain(log[:8]), cps, KEYS).finding
    assert short is not None and short.reason == Reason.MISSING and short.checkpoint == 1
