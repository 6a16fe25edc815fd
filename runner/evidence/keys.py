"""The estate's Ed25519 signing key for checkpoints.

The private key lives in the state folder (``keys/evidence-ed25519.pem``, 0600), never in the
evidence folder; it is made on first use. Verifiers get the public key as PEM
(``maintctl evidence pubkey``) and identify it by its fingerprint: SHA-256 of the 32 raw bytes.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from runner.errors import EvidenceError, UsageError
from runner.evidence.fsutil import FILE_MODE, atomic_write, private_dir

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE = "evidence-ed25519.pem"


def fingerprint(public: Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


class Signer:
    """Signs checkpoint bytes with the estate key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = key.public_key()
        self.fingerprint = fingerprint(self.public)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self._key.sign(data)).decode("ascii")


def load_or_create(keys_dir: Path) -> Signer:
    """Load the signing key from ``keys_dir``, creating it (0600) on first use; safe across processes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private_dir(keys_dir)
    path = keys_dir / KEY_FILE
    if not path.exists():
        lock_fd = os.open(keys_dir / ".lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            if not path.exists():
                pem = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
                atomic_write(path, pem)
        finally:
            os.close(lock_fd)
    if path.stat().st_mode & 0o077:
        raise EvidenceError(f"{path}: signing key is readable by others; chmod 600 it (and check who read it)")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise EvidenceError(f"{path}: not a readable Ed25519 private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(f"{path}: not an Ed25519 private key")
    return Signer(key)


def load_public(path: Path) -> Ed25519PublicKey:
    """Read a PEM public key given by a verifier."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: public key file not found") from exc
    except ValueError as exc:
        raise UsageError(f"{path}: not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError(f"{path}: not an Ed25519 public key")
    return key
