"""A small, fast HTTP/1.1 load generator that needs nothing but Python.

N keep-alive connections, each with one request in flight: the request bytes are encoded once,
each response is framed by a tiny incremental parser (Content-Length, chunked, or read until the
server closes), and the next request goes out as soon as a response is whole. With a list of
paths (distinct search queries, a spread of game ids) the requests take them in turn, across
all connections, each encoded once up front. asyncio protocols
(on uvloop when installed) keep the per-response cost to a few microseconds, well below a Python
server's, so the server is what gets measured.

Run it in its own process (`python -m lugx.bench.loadgen` reads a JSON job on stdin and prints a
JSON result), so it never competes with the server for one interpreter.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _UNTIL_CLOSE = range(6)
_MAX_HEAD = 64 * 1024
RECONNECT_DELAY_SECONDS = 0.01


class ProtocolError(Exception):
    """The server sent something that is not an HTTP/1.x response."""


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    method: str = "GET"
    path: str = "/"
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    # When given, the requests go to these paths in turn (`path` is then unused).
    paths: Sequence[str] = ()

    def encode(self, path: str | None = None) -> bytes:
        """The request, byte for byte, as it is sent every time."""
        lines = [f"{self.method} {path or self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        if self.body or self.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def encode_all(self) -> list[bytes]:
        """Every request the load sends, in the order it sends them (then again)."""
        return [self.encode(path) for path in self.paths] if self.paths else [self.encode()]


class ResponseParser:
    """Incremental framing of HTTP/1.x responses. `feed` bytes as they arrive; `on_response`
    is called with (status, keep_alive) for every complete response. Bodies are skipped, not
    kept, unless `keep_bodies`: then `body` is the complete response's, while `on_response`
    runs. `eof` ends a body that runs until the connection closes."""

    __slots__ = (
        "_body",
        "_buffer",
        "_keep_alive",
        "_keep_bodies",
        "_on_response",
        "_remaining",
        "_state",
        "_status",
        "head_only",
    )

    def __init__(
        self,
        on_response: Callable[[int, bool], None],
        *,
        head_only: bool = False,
        keep_bodies: bool = False,
    ) -> None:
        self._on_response = on_response
        self._buffer = bytearray()
        self._state = _HEAD
        self._status = 0
        self._keep_alive = True
        self._remaining = 0
        self._keep_bodies = keep_bodies
        self._body = bytearray()
        self.head_only = head_only  # responses to HEAD carry no body whatever they declare

    @property
    def body(self) -> bytes:
        return bytes(self._body)

    @property
    def idle(self) -> bool:
        """No response is partly read."""
        return self._state == _HEAD and not self._buffer

    def feed(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while buffer:
            state = self._state
            if state == _HEAD:
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > _MAX_HEAD:
                        raise ProtocolError("response head too large")
                    return
                head = bytes(buffer[:end])
                del buffer[: end + 4]
                self._start(head)
            elif state == _LENGTH:
                if len(buffer) < self._remaining:
                    self._remaining -= len(buffer)
                    if self._keep_bodies:
                        self._body += buffer
                    buffer.clear()
                    return
                if self._keep_bodies:
                    self._body += buffer[: self._remaining]
                del buffer[: self._remaining]
                self._complete()
            elif state == _CHUNK_SIZE:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                line = bytes(buffer[:end]).split(b";", 1)[0].strip()
                del buffer[: end + 2]
                try:
                    size = int(line, 16)
                except ValueError:
                    raise ProtocolError(f"bad chunk size {line!r}") from None
                if size == 0:
                    self._state = _TRAILERS
                else:
                    self._remaining = size + 2  # the data and its CRLF
                    self._state = _CHUNK_DATA
            elif state == _CHUNK_DATA:
                taken = min(len(buffer), self._remaining)
                if self._keep_bodies:  # the data, not its CRLF
                    self._body += buffer[: max(0, min(taken, self._remaining - 2))]
                self._remaining -= taken
                del buffer[:taken]
                if self._remaining:
                    return
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = buffer.find(b"\r\n")
                if end < 0:
                    return
                del buffer[: end + 2]
                if end == 0:
                    self._complete()
            else:  # _UNTIL_CLOSE
                if self._keep_bodies:
                    self._body += buffer
                buffer.clear()
                return

    def eof(self) -> None:
        if self._state == _UNTIL_CLOSE:
            self._keep_alive = False
            self._complete()
        elif not self.idle:
            raise ProtocolError("connection closed in the middle of a response")

    def _start(self, head: bytes) -> None:
        if not head.startswith(b"HTTP/1."):
            raise ProtocolError(f"not an HTTP/1.x response: {head[:40]!r}")
        try:
            status = int(head[9:12])
        except ValueError:
            raise ProtocolError(f"bad status line {head[:40]!r}") from None
        if 100 <= status < 200:
            return  # an interim response; the real one follows
        self._body.clear()
        lower = head.lower()
        if head.startswith(b"HTTP/1.0"):
            keep_alive = b"\r\nconnection: keep-alive" in lower
        else:
            keep_alive = b"\r\nconnection: close" not in lower
        self._status = status
        self._keep_alive = keep_alive
        if self.head_only or status in (204, 304):
            self._complete()
            return
        length = _header_value(lower, b"\r\ncontent-length:")
        if length is not None:
            try:
                self._remaining = int(length)
            except ValueError:
                raise ProtocolError(f"bad Content-Length {length!r}") from None
            if self._remaining == 0:
                self._complete()
            else:
                self._state = _LENGTH
            return
        encoding = _header_value(lower, b"\r\ntransfer-encoding:")
        if encoding is not None and encoding.endswith(b"chunked"):
            self._state = _CHUNK_SIZE
        else:
            self._state = _UNTIL_CLOSE

    def _complete(self) -> None:
        self._state = _HEAD
        self._on_response(self._status, self._keep_alive)


def _header_value(lower_head: bytes, marker: bytes) -> bytes | None:
    start = lower_head.find(marker)
    if start < 0:
        return None
    start += len(marker)
    end = lower_head.find(b"\r\n", start)
    return lower_head[start : end if end >= 0 else len(lower_head)].strip()


@dataclass
class LoadResult:
    seconds: float
    requests: int
    errors: int  # responses that were not 2xx
    socket_errors: int  # refused, reset, or malformed responses
    statuses: dict[str, int]
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    # CPU the load generator itself used, as a share of one core: near 1.0 it, not the server,
    # may be what limits the numbers.
    client_cpu: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Connection(asyncio.Protocol):
    def __init__(self, run: _LoadRun) -> None:
        self._run = run
        self._transport: asyncio.Transport | None = None
        self._parser = ResponseParser(self._on_response, head_only=run.target.method == "HEAD")
        self._sent_at = 0.0
        self._in_flight = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._run.open.add(self)
        self._send()

    def _send(self) -> None:
        assert self._transport is not None
        self._in_flight = True
        self._sent_at = time.perf_counter()
        self._transport.write(self._run.next_request())

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed(data)
        except ProtocolError:
            self._in_flight = False
            self._run.lost_request()
            self.close()

    def _on_response(self, status: int, keep_alive: bool) -> None:
        self._in_flight = False
        now = time.perf_counter()
        run = self._run
        run.record(status, now, now - self._sent_at)
        if now >= run.stop_at:
            self.close()
        elif not keep_alive:
            self.close()  # connection_lost reconnects
        else:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        run = self._run
        run.open.discard(self)
        if self._in_flight:
            try:
                self._parser.eof()  # ends a body that runs until the close
            except ProtocolError:
                run.lost_request()
            else:
                if self._in_flight:  # closed before any answer
                    run.lost_request()
        run.reconnect()

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()


class _LoadRun:
    def __init__(self, target: Target, *, connections: int, seconds: float, warmup: float) -> None:
        self.target = target
        self.requests = target.encode_all()
        self._turn = 0
        self.connections = connections
        self.seconds = seconds
        self.warmup = warmup
        self.measure_from = 0.0
        self.stop_at = 0.0
        self.latencies = array("d")
        self.statuses: Counter[int] = Counter()
        self.socket_errors = 0
        self.open: set[_Connection] = set()
        self.finished = False
        self._tasks: set[asyncio.Task[None]] = set()

    def next_request(self) -> bytes:
        requests = self.requests
        turn = self._turn
        self._turn = turn + 1 if turn + 1 < len(requests) else 0
        return requests[turn]

    def record(self, status: int, now: float, latency: float) -> None:
        if self.measure_from <= now < self.stop_at:
            self.latencies.append(latency)
            self.statuses[status] += 1

    def lost_request(self) -> None:
        if not self.finished:  # not the requests cut off at the end
            self.socket_errors += 1

    def reconnect(self) -> None:
        if not self.finished and time.perf_counter() < self.stop_at:
            task = asyncio.get_running_loop().create_task(self._connect(RECONNECT_DELAY_SECONDS))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        if time.perf_counter() >= self.stop_at:
            return
        loop = asyncio.get_running_loop()
        try:
            await loop.create_connection(
                lambda: _Connection(self), self.target.host, self.target.port
            )
        except OSError:
            self.socket_errors += 1
            self.reconnect()

    async def run(self) -> LoadResult:
        started = time.perf_counter()
        cpu_started = time.process_time()
        self.measure_from = started + self.warmup
        self.stop_at = self.measure_from + self.seconds
        await asyncio.gather(*(self._connect() for _ in range(self.connections)))
        await asyncio.sleep(max(0.0, self.stop_at - time.perf_counter()))
        self.finished = True
        for connection in list(self.open):
            connection.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.sleep(0)  # let the transports finish closing
        wall = time.perf_counter() - started
        return self._result(client_cpu=(time.process_time() - cpu_started) / wall)

    def _result(self, *, client_cpu: float) -> LoadResult:
        latencies = sorted(self.latencies)
        count = len(latencies)

        def quantile(q: float) -> float:
            return round(latencies[min(count - 1, int(q * count))] * 1000, 3) if count else 0.0

        return LoadResult(
            seconds=self.seconds,
            requests=count,
            errors=sum(n for status, n in self.statuses.items() if not 200 <= status < 300),
            socket_errors=self.socket_errors,
            statuses={str(status): n for status, n in sorted(self.statuses.items())},
            rps=round(count / self.seconds, 1),
            p50_ms=quantile(0.50),
            p90_ms=quantile(0.90),
            p99_ms=quantile(0.99),
            max_ms=round(latencies[-1] * 1000, 3) if count else 0.0,
            client_cpu=round(client_cpu, 2),
        )


async def generate_load(
    target: Target, *, connections: int = 32, seconds: float = 10.0, warmup: float = 0.0
) -> LoadResult:
    """Keep `connections` requests in flight for `warmup` + `seconds`; measure the latter."""
    return await _LoadRun(target, connections=connections, seconds=seconds, warmup=warmup).run()


def job_to_json(target: Target, *, connections: int, seconds: float, warmup: float) -> str:
    return json.dumps(
        {
            "host": target.host,
            "port": target.port,
            "method": target.method,
            "path": target.path,
            "paths": list(target.paths),
            "headers": dict(target.headers),
            "body": target.body.decode("latin-1"),
            "connections": connections,
            "seconds": seconds,
            "warmup": warmup,
        }
    )


def _main() -> None:
    job = json.loads(sys.stdin.read())
    target = Target(
        host=job["host"],
        port=int(job["port"]),
        method=job["method"],
        path=job["path"],
        paths=tuple(job.get("paths", ())),
        headers=job["headers"],
        body=job["body"].encode("latin-1"),
    )
    work = generate_load(
        target, connections=job["connections"], seconds=job["seconds"], warmup=job["warmup"]
    )
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(work)
    else:
        result = uvloop.run(work)
    json.dump(result.to_json(), sys.stdout)


if __name__ == "__main__":
    _main()
