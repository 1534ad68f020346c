"""`lugx bench --tool wrk`: the same measurement with wrk, when it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from lugx.bench.loadgen import LoadResult, Target
from lugx.bench.server import BenchError

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m)"


def available() -> bool:
    return shutil.which("wrk") is not None


def lua_script(target: Target) -> str:
    """wrk sends what this script sets: method, headers and body; with several paths, each
    request takes the next one (wrk's `request` hook, formatted per request)."""

    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    lines = [f"wrk.method = {quoted(target.method)}"]
    lines += [f"wrk.headers[{quoted(k)}] = {quoted(v)}" for k, v in target.headers.items()]
    if target.body:
        lines.append(f"wrk.body = {quoted(target.body.decode('latin-1'))}")
    if target.paths:
        lines.append("local paths = {" + ", ".join(quoted(p) for p in target.paths) + "}")
        lines += [
            "local turn = 0",
            "request = function()",
            "  turn = turn % #paths + 1",
            "  return wrk.format(nil, paths[turn])",
            "end",
        ]
    return "\n".join(lines) + "\n"


def generate_load(target: Target, *, connections: int, seconds: float, warmup: float) -> LoadResult:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (use --tool python)")
    url = f"http://{target.host}:{target.port}{target.path}"
    with tempfile.TemporaryDirectory(prefix="lugx-wrk-") as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(lua_script(target))
        base = [wrk, "-t1", f"-c{connections}", "-s", str(script), "--latency"]
        if warmup > 0:
            _run([*base, f"-d{max(1, round(warmup))}s", url])
        output = _run([*base, f"-d{max(1, round(seconds))}s", url])
    return parse_output(output, seconds=max(1, round(seconds)))


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BenchError(f"wrk failed: {done.stderr.strip()[:300]}")
    return done.stdout


def parse_output(output: str, *, seconds: float) -> LoadResult:
    def latency(label: str) -> float:
        found = re.search(rf"^\s*{label}\s+{_DURATION}", output, re.MULTILINE)
        return round(float(found[1]) * _UNITS[found[2]], 3) if found else 0.0

    requests = re.search(r"(\d+) requests in", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if requests is None or rps is None:
        raise BenchError(f"could not read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    stats = re.search(rf"Latency\s+{_DURATION}\s+{_DURATION}\s+{_DURATION}", output)
    count = int(requests[1])
    errors = int(non_2xx[1]) if non_2xx else 0
    return LoadResult(
        seconds=seconds,
        requests=count,
        errors=errors,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
        statuses={"2xx/3xx": count - errors, "other": errors},
        rps=float(rps[1]),
        p50_ms=latency("50%"),
        p90_ms=latency("90%"),
        p99_ms=latency("99%"),
        max_ms=round(float(stats[5]) * _UNITS[stats[6]], 3) if stats else 0.0,
    )
