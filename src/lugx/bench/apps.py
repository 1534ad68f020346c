"""The apps the benchmark serves, each in its own process: `python -m lugx.bench.apps NAME PORT`.

Both are served by `lugx.cli.run_server`, exactly as `lugx up` serves the platform, so the only
difference between the baseline and Lugx is the app.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp


def hello_world() -> ASGIApp:
    """The baseline: the smallest useful Starlette app."""

    async def hello(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")

    return Starlette(routes=[Route("/", hello)])


def embedded() -> ASGIApp:
    """The whole platform behind the gateway, configured from the environment (LUGX_...)."""
    from lugx.gateway import embedded_app
    from lugx.platform.observability import configure_logging
    from lugx.platform.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return embedded_app(settings)


APPS: dict[str, Callable[[], ASGIApp]] = {"hello": hello_world, "embedded": embedded}


def _main() -> None:
    from lugx.cli import run_server

    name, port = sys.argv[1], int(sys.argv[2])
    run_server(APPS[name](), host="127.0.0.1", port=port)


if __name__ == "__main__":
    _main()
