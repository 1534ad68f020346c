"""Who is on the other end: the client address, believing X-Forwarded-For only from proxies we
trust (the gateway), taking the right-most address not added by one of them."""

from __future__ import annotations

from collections.abc import Collection

from starlette.types import Scope


def client_ip(scope: Scope, trusted_proxies: Collection[str]) -> str:
    client = scope.get("client")
    peer = client[0] if client else "unknown"
    if peer not in trusted_proxies:
        return str(peer)
    forwarded = None
    for key, value in scope.get("headers", ()):
        if key == b"x-forwarded-for":
            forwarded = value.decode("latin-1")
    if not forwarded:
        return str(peer)
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop
    return hops[0] if hops else str(peer)
