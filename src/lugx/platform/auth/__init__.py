"""Identity for every service: Ed25519-signed access tokens, their verification, and the FastAPI
dependencies that give an endpoint the verified caller. Identity never comes from a body."""

from lugx.platform.auth.dependencies import (
    CurrentUser,
    OptionalUser,
    bearer_token,
    require_roles,
)
from lugx.platform.auth.keys import SigningKey, load_secret_key, load_signing_key
from lugx.platform.auth.principal import ROLES, Principal, Role
from lugx.platform.auth.tokens import (
    JwksKeySource,
    KeySource,
    StaticKeySource,
    TokenIssuer,
    TokenVerifier,
)

__all__ = [
    "ROLES",
    "CurrentUser",
    "JwksKeySource",
    "KeySource",
    "OptionalUser",
    "Principal",
    "Role",
    "SigningKey",
    "StaticKeySource",
    "TokenIssuer",
    "TokenVerifier",
    "bearer_token",
    "load_secret_key",
    "load_signing_key",
    "require_roles",
]
