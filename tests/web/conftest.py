"""The store front through the real gateway: the platform's services in-process, the web app
as the gateway's fallback, exactly as `lugx up` wires it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp

from lugx.gateway.app import create_gateway
from lugx.platform.bootstrap import Platform
from lugx.web import create_web_app

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def web_gateway(platform: Platform) -> ASGIApp:
    return create_gateway(
        platform.wiring,
        {name: runtime.app for name, runtime in platform.runtimes.items()},
        fallback=create_web_app(platform.wiring),
    )


@pytest.fixture
async def browser(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor: keeps cookies between requests, does not follow redirects by itself."""
    transport = httpx.ASGITransport(app=web_gateway(platform), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://lugx.test") as http:
        yield http


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page has no form token"
    return found.group(1)
