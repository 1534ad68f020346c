"""Who is on the other end: the client address, believing X-Forwarded-For only from proxies we
trust (the gateway), taking the right-most address not added by one of them."""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import Scope


def client_ip(scope: Scope, trusted_proxies: Collection[str]) -> str:
    client = scope.get("client")
    peer: str = str(client[0]) if client else "unknown"
    if peer not in trusted_proxies:
        return peer
    forwarded: str | None = None
    for key, value in scope.get("headers", ()):
        if key == b"x-forwarded-for":
            forwarded = bytes(value).decode("latin-1")
    if not forwarded:
        return peer
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop
    return hops[0] if hops else peer
