"""The store front's session: one cookie, encrypted and authenticated (AES-GCM under a key
derived from LUGX_SECRET_KEY), holding the platform's tokens and the form (CSRF) secret.

Nothing is kept server side, so any web process of the deployment can read any cookie, and a
cookie that was edited or forged is simply not a session (decoding fails, the visitor is
anonymous). The tokens never reach the page's JavaScript: the cookie is HttpOnly.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from dataclasses import asdict, dataclass

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE = "lugx_session"
CSRF_FIELD = "csrf"
_AAD = b"lugx-web-session-v1"
_NONCE_BYTES = 12
_MAX_COOKIE_CHARS = 3800  # browsers drop cookies over 4 KB; ours is about 1.2 KB signed in


@dataclass
class WebSession:
    """What the cookie holds. `csrf` is the secret every form echoes back."""

    csrf: str
    access: str | None = None
    refresh: str | None = None
    session_id: str | None = None
    username: str | None = None

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(24))

    @property
    def signed_in(self) -> bool:
        return self.access is not None and self.refresh is not None

    def check_csrf(self, sent: str | None) -> bool:
        return sent is not None and hmac.compare_digest(sent.encode(), self.csrf.encode())


class SessionCodec:
    """Encrypts a session into a cookie value and back. A different key per purpose (HKDF), so
    the cookie key is not the key that signs cursors or service calls."""

    def __init__(self, secret_key: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"lugx web session cookie"
        ).derive(secret_key)
        self._aead = AESGCM(key)

    def encode(self, session: WebSession) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, orjson.dumps(asdict(session)), _AAD)
        return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def decode(self, value: str | None) -> WebSession | None:
        if not value or len(value) > _MAX_COOKIE_CHARS:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD)
            data = orjson.loads(plain)
            return WebSession(**data) if isinstance(data, dict) else None
        except (InvalidTag, ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            return None

    def seal(self, data: bytes) -> bytes:
        """Encrypt bytes for the shared cache (a refreshed token pair, see auth.py)."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data, _AAD + b":cache")

    def open(self, data: bytes) -> bytes | None:
        try:
            return self._aead.decrypt(data[:_NONCE_BYTES], data[_NONCE_BYTES:], _AAD + b":cache")
        except (InvalidTag, ValueError):
            return None
