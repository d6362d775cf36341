"""The checkpoint signing key (TOUCHLINE_AUDIT_SIGNING_KEY, or a generated development key) and trusted keys."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from domain.audit.checkpoint import public_key_from_base64, trusted_keys
from services.adapters.settings import Settings

DEV_KEY_FILE = "audit-signing.key"


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The configured key; outside production, when none is configured, one generated once under data_dir."""
    configured = settings.audit_signing_key.get_secret_value()
    if configured:
        return private_key_from_base64(configured)
    if settings.env == "production":
        raise RuntimeError("TOUCHLINE_AUDIT_SIGNING_KEY is required in production")
    return _development_key(settings.data_dir / DEV_KEY_FILE)


def verification_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """The current key's public half plus the previous keys still trusted (TOUCHLINE_AUDIT_TRUSTED_PUBLIC_KEYS)."""
    previous = [public_key_from_base64(text.strip())
                for text in settings.audit_trusted_public_keys.split(",") if text.strip()]
    return trusted_keys(signing_key(settings).public_key(), *previous)


def private_key_from_base64(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def private_key_to_base64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())).decode()


def _development_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        return private_key_from_base64(path.read_text().strip())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the embedded run wrote it first
        return private_key_from_base64(path.read_text().strip())
    with os.fdopen(fd, "w") as file:
        file.write(private_key_to_base64(key) + "\n")
    return key
