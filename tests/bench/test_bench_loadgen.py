"""The load generator's HTTP framing, against byte streams and against real local servers."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from lugx.bench.loadgen import ProtocolError, ResponseParser, Target, generate_load

CONTENT_LENGTH = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4;ext=1\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: yes\r\n\r\n"
)
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found"
INTERIM = b"HTTP/1.1 100 Continue\r\n\r\n"
CLOSING = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
UNTIL_CLOSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the end"


def parse(
    stream: bytes, *, split: int | None = None, head_only: bool = False
) -> list[tuple[int, bool]]:
    seen: list[tuple[int, bool]] = []
    parser = ResponseParser(lambda status, keep: seen.append((status, keep)), head_only=head_only)
    step = split or len(stream) or 1
    for start in range(0, len(stream), step):
        parser.feed(stream[start : start + step])
    return seen


@pytest.mark.parametrize("split", [None, 1, 2, 7])
def test_framing_of_a_keep_alive_stream(split: int | None) -> None:
    stream = CONTENT_LENGTH + CHUNKED + NO_CONTENT + INTERIM + NOT_FOUND + CLOSING
    assert parse(stream, split=split) == [
        (200, True),
        (201, True),
        (204, True),
        (404, True),
        (200, False),
    ]


@pytest.mark.parametrize("split", [None, 1, 3, 7])
def test_bodies_are_kept_when_asked(split: int | None) -> None:
    seen: list[tuple[int, bytes]] = []
    parser = ResponseParser(
        lambda status, keep: seen.append((status, parser.body)), keep_bodies=True
    )
    stream = CONTENT_LENGTH + CHUNKED + NO_CONTENT + INTERIM + NOT_FOUND + UNTIL_CLOSE
    step = split or len(stream)
    for start in range(0, len(stream), step):
        parser.feed(stream[start : start + step])
    parser.eof()
    assert seen == [
        (200, b"hello"),
        (201, b"wikipedia in\r\n\r\nchunks."),
        (204, b""),
        (404, b"not found"),
        (200, b"body until the end"),
    ]


def test_a_body_that_runs_until_the_connection_closes() -> None:
    seen: list[tuple[int, bool]] = []
    parser = ResponseParser(lambda status, keep: seen.append((status, keep)))
    parser.feed(UNTIL_CLOSE)
    assert seen == []
    parser.eof()
    assert seen == [(200, False)]


def test_responses_to_head_have_no_body() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    assert parse(head * 3, head_only=True) == [(200, True)] * 3


def test_garbage_and_truncation_are_errors() -> None:
    with pytest.raises(ProtocolError):
        parse(b"SSH-2.0-OpenSSH\r\n\r\n")
    with pytest.raises(ProtocolError):
        parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    parser = ResponseParser(lambda status, keep: None)
    parser.feed(CONTENT_LENGTH[:-2])
    with pytest.raises(ProtocolError):
        parser.eof()


def test_the_request_is_encoded_once_and_well() -> None:
    get = Target("127.0.0.1", 8000, "GET", "/api/v1/users/me", {"Authorization": "Bearer t"})
    assert get.encode() == (
        b"GET /api/v1/users/me HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAuthorization: Bearer t\r\n\r\n"
    )
    post = Target("h", 1, "POST", "/x", {}, b'{"a":1}')
    assert post.encode().endswith(b'Content-Length: 7\r\n\r\n{"a":1}')


async def test_against_a_raw_server_mixing_framings() -> None:
    """A server that answers in turn with each framing, split into awkward pieces."""
    answers = itertools.cycle([CONTENT_LENGTH, CHUNKED, NOT_FOUND, NO_CONTENT])

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await reader.readuntil(b"\r\n\r\n"):
                answer = next(answers)
                for start in range(0, len(answer), 11):
                    writer.write(answer[start : start + 11])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await generate_load(Target("127.0.0.1", port), connections=3, seconds=0.3)
    finally:
        server.close()
        await server.wait_closed()
    assert result.requests > 50
    assert result.socket_errors == 0
    assert set(result.statuses) == {"200", "201", "204", "404"}
    assert result.errors == result.statuses["404"]
    assert 0 < result.p50_ms <= result.p99_ms <= result.max_ms
    assert 0 < result.client_cpu <= 1.5


async def test_against_uvicorn_with_connection_close_and_streaming() -> None:
    async def plain(_request: Request) -> Response:
        return PlainTextResponse("hello")

    async def stream(_request: Request) -> Response:
        async def parts() -> AsyncIterator[bytes]:
            yield b"a" * 10
            yield b"b" * 5000

        return StreamingResponse(parts())

    async def closing(_request: Request) -> Response:
        return PlainTextResponse("bye", headers={"connection": "close"})

    app = Starlette(routes=[Route("/", plain), Route("/stream", stream), Route("/close", closing)])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        results = {
            path: await generate_load(
                Target("127.0.0.1", port, path=path), connections=2, seconds=0.15
            )
            for path in ("/", "/stream", "/close", "/missing")
        }
    finally:
        server.should_exit = True
        await task
    for path in ("/", "/stream", "/close"):
        assert results[path].requests > 10, path
        assert results[path].errors == 0, path
        assert results[path].socket_errors == 0, path
    assert results["/missing"].errors == results["/missing"].requests > 10


async def test_a_server_that_is_not_there_is_counted_not_fatal() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = await generate_load(Target("127.0.0.1", port), connections=2, seconds=0.1)
    assert result.requests == 0
    assert result.socket_errors > 0
