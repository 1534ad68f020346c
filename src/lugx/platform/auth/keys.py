"""Key material. Production must be given its keys; development makes them once and keeps them
under the data folder (mode 0600), so tokens survive a restart and nothing lands in the repo."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from lugx.platform.settings import Settings


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    kid: str

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.public_key, self.kid)


def public_jwk(key: Ed25519PublicKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = OKPAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": kid, "alg": "EdDSA", "use": "sig"}


def previous_public_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    """Earlier signing keys still trusted during a rotation, by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for pem in settings.jwt_previous_public_keys:
        key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("LUGX_JWT_PREVIOUS_PUBLIC_KEYS must hold Ed25519 public keys (PEM)")
        keys[key_id(key)] = key
    return keys


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _parse_private_pem(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the JWT signing key must be an Ed25519 private key (PEM, PKCS#8)")
    return key


def load_signing_key(settings: Settings) -> SigningKey:
    if settings.jwt_private_key is not None:
        key = _parse_private_pem(settings.jwt_private_key.get_secret_value().encode())
    elif settings.jwt_private_key_file is not None:
        key = _parse_private_pem(settings.jwt_private_key_file.read_bytes())
    elif settings.is_production:
        raise RuntimeError(
            "production refuses to start without its token signing key: set "
            "LUGX_JWT_PRIVATE_KEY or LUGX_JWT_PRIVATE_KEY_FILE (make one with `lugx keys generate`)"
        )
    else:
        key = _development_key(settings.data_dir / "secrets" / "jwt-ed25519.pem")
    return SigningKey(key, settings.jwt_key_id or key_id(key.public_key()))


def _development_key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            _write_private(path, pem)
    return _parse_private_pem(path.read_bytes())


def load_secret_key(settings: Settings) -> bytes:
    """The HMAC secret for cursors, CSRF and other server-side signatures."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if settings.is_production:
        raise RuntimeError("production needs LUGX_SECRET_KEY")
    path = settings.data_dir / "secrets" / "secret_key"
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            _write_private(path, secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


def generate_private_pem() -> str:
    """For `lugx keys generate`: a new Ed25519 key to put in production settings."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
