"""Reading wrk's output and printing the table."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx

from lugx.bench.loadgen import LoadResult, Target
from lugx.bench.runner import BenchOptions, BenchReport, Row, render_json, render_table
from lugx.bench.scenarios import SCENARIOS, Request
from lugx.bench.server import CpuMeter, ServerProcess
from lugx.bench.wrk import lua_script, parse_output

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8080/api/v1/users/me
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    1.20ms  45.30ms   91.02%
    Req/Sec     7.81k   312.11     8.20k    80.00%
  Latency Distribution
     50%    3.90ms
     75%    4.40ms
     90%    5.10ms
     99%  850.00us
  77712 requests in 10.00s, 28.31MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 12
Requests/sec:   7771.20
Transfer/sec:      2.83MB
"""


def test_wrk_output_is_read() -> None:
    result = parse_output(WRK_OUTPUT, seconds=10)
    assert result.requests == 77712
    assert result.rps == 7771.2
    assert result.p50_ms == 3.9
    assert result.p90_ms == 5.1
    assert result.p99_ms == 0.85
    assert result.max_ms == 45.3
    assert result.errors == 12
    assert result.socket_errors == 3


def test_wrk_script_sets_method_headers_and_body() -> None:
    script = lua_script(
        Target("h", 1, "POST", "/x", {"Authorization": 'Bearer "q"'}, b'{"a": "b"}')
    )
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["Authorization"] = "Bearer \\"q\\""' in script
    assert 'wrk.body = "{\\"a\\": \\"b\\"}"' in script


def load(rps: float, client_cpu: float = 0.5) -> LoadResult:
    return LoadResult(
        seconds=10,
        requests=int(rps * 10),
        errors=3,
        socket_errors=1,
        statuses={"200": int(rps * 10) - 3, "500": 3},
        rps=rps,
        p50_ms=1.5,
        p90_ms=2.5,
        p99_ms=9.25,
        max_ms=20.0,
        client_cpu=client_cpu,
    )


def test_the_table_compares_with_the_baseline() -> None:
    hello, users_me = SCENARIOS[0], SCENARIOS[1]
    report = BenchReport(BenchOptions(seconds=10, warmup=3, connections=32), cpus=2)
    report.rows = [
        Row(
            hello,
            Request("GET", "/"),
            load(20000, client_cpu=0.95),
            {"rss_mib": 40.0, "peak_rss_mib": 44.0},
            1.0,
        ),
        Row(
            users_me,
            Request("GET", "/api/v1/users/me"),
            load(4000),
            {"rss_mib": 120.0, "peak_rss_mib": 130.5},
            0.2,
            server_cpu_seconds=9.5,
        ),
    ]
    table = render_table(report)
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("scenario"))
    for column in ("req/s", "p50 ms", "p99 ms", "errors", "CPU ms", "RSS MiB", "vs baseline"):
        assert column in header
    row = next(line for line in lines if line.startswith("users-me"))
    assert "0.237" in row  # 9.5 s of the server's CPU over 40,000 requests
    assert next(line for line in lines if line.startswith("hello")).split()[6] == "-"
    assert "4,000" in row
    assert "9.25" in row
    assert "130.5" in row
    assert "0.20 (meets 0.15)" in row
    assert " 4 " in row  # 3 non-2xx + 1 socket error
    warnings = [line for line in lines if "warning" in line]
    assert len(warnings) == 1
    assert "95%" in warnings[0]
    assert "hello" in warnings[0]
    document = json.loads(render_json(report))
    assert [r["scenario"] for r in document["results"]] == ["hello", "users-me"]
    assert document["results"][1]["ratio"] == 0.2
    assert document["results"][1]["peak_rss_mib"] == 130.5


def test_the_servers_cpu_is_read_over_the_measured_seconds(tmp_path: Path) -> None:
    """A real server (the hello app), kept busy by requests: its CPU time grows, and the meter
    reads it from the end of the warm-up to the end of the measured seconds."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with ServerProcess("hello", env=env, log_path=tmp_path / "server.log") as server:
        before = server.cpu_seconds()
        assert before is not None
        meter = CpuMeter(server, warmup=0.2, seconds=1.0)
        meter.start()
        with httpx.Client(base_url=server.base_url) as http:
            while meter.is_alive():
                assert http.get("/").status_code == 200
        meter.join()
        after = server.cpu_seconds()
    assert after is not None
    assert after > before
    assert meter.used is not None
    assert 0 < meter.used <= after - before
