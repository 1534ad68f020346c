"""`lugx bench`: each scenario's app in its own server process, loaded by a separate load
generator process, measured against the hello-world baseline of the same run.

Scenarios on the load catalog share one data folder, seeded once per run with
`lugx seed --games N` before any of them starts (kept and reused with `--keep-data`)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import lugx
from lugx.bench import datasets, wrk
from lugx.bench.datasets import DataSet, DataUnavailable
from lugx.bench.flows import OUT_OF_GAMES
from lugx.bench.loadgen import LoadResult, Target, job_to_json
from lugx.bench.scenarios import SCENARIOS, Request, Scenario
from lugx.bench.server import BenchError, CpuMeter, ServerProcess

# The servers run the embedded wiring with nothing from the caller's environment, and a rate
# limit high enough never to refuse (its bookkeeping still runs on every request).
SERVER_ENV = {
    "LUGX_ENVIRONMENT": "development",
    "LUGX_LOG_LEVEL": "WARNING",
    "LUGX_DEMO_DATA": "false",
    "LUGX_RATE_LIMIT_PER_MINUTE": "1000000000",
    "LUGX_ACCESS_TOKEN_TTL_SECONDS": "86400",
}

CLIENT_CPU_WARNING = 0.9
CHECKED_PATHS = 20  # of a scenario's rotating paths, how many are tried before the load

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    seconds: float = 10.0
    warmup: float = 3.0
    connections: int = 32
    rounds: int = 1
    scenarios: Sequence[str] = ()
    tool: str = "python"  # or "wrk"
    data_dir: Path | None = None  # keep the servers' data and logs here instead of a temp dir
    games: int = 100_000  # the load catalog's size (`lugx seed --games`)
    catalog_seed: int = 42  # and its seed (`lugx seed --seed`)


@dataclass
class Row:
    scenario: Scenario
    request: Request
    load: LoadResult
    memory: dict[str, float]
    ratio: float | None = None
    connections: int = 0
    # Edge cache lookups during the load (warm-up included), by result; empty: none made.
    edge: dict[str, int] = field(default_factory=dict)
    # The server's CPU time over the measured seconds; None where it cannot be read.
    server_cpu_seconds: float | None = None

    @property
    def cpu_ms(self) -> float | None:
        """The server's CPU time per request (per journey for a journey), in ms: how much work
        one costs, whatever else the machine did meanwhile (a slow moment shows in hello's)."""
        if self.server_cpu_seconds is None or not self.load.requests:
            return None
        return 1000 * self.server_cpu_seconds / self.load.requests

    @property
    def edge_hit_share(self) -> float | None:
        """The share of the load's requests the gateway answered from its edge cache."""
        looked_up = sum(self.edge.values())
        if not looked_up:
            return None
        return (self.edge.get("hit", 0) + self.edge.get("not_modified", 0)) / looked_up

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "request": f"{self.request.method} {self.request.path}",
            "distinct_paths": len(self.request.paths) or 1,
            "connections": self.connections,
            "edge_cache": self.edge,
            **self.load.to_json(),
            **{key: round(value, 1) for key, value in self.memory.items()},
            "server_cpu_ms": None if self.cpu_ms is None else round(self.cpu_ms, 3),
            "ratio": None if self.ratio is None else round(self.ratio, 3),
            "target_ratio": self.scenario.target_ratio,
            "targets": [
                {"target": text, "measured": measured, "met": met}
                for text, measured, met in self.verdicts()
            ],
        }

    def verdicts(self) -> list[tuple[str, str, bool]]:
        """Each target of the scenario besides the ratio: (target, measured, met)."""
        scenario, found = self.scenario, []
        if scenario.target_rps is not None:
            found.append(
                (
                    f">= {scenario.target_rps:,g} req/s",
                    f"{self.load.rps:,.0f}",
                    self.load.rps >= scenario.target_rps,
                )
            )
        if scenario.target_p99_ms is not None:
            found.append(
                (
                    f"p99 <= {scenario.target_p99_ms:g} ms",
                    f"{self.load.p99_ms:.2f} ms",
                    self.load.p99_ms <= scenario.target_p99_ms,
                )
            )
        if scenario.target_rss_mib is not None:
            peak = self.memory.get("peak_rss_mib", 0.0)
            found.append(
                (
                    f"peak RSS <= {scenario.target_rss_mib:g} MiB",
                    f"{peak:.0f} MiB",
                    peak <= scenario.target_rss_mib,
                )
            )
        return found


@dataclass
class BenchReport:
    options: BenchOptions
    rows: list[Row] = field(default_factory=list)
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    notes: list[str] = field(default_factory=list)  # seeding times, skipped scenarios


def run_bench(options: BenchOptions, *, progress: Progress | None = None) -> BenchReport:
    """Each scenario in turn, `rounds` times over (alternating, so a busy moment on the machine
    hits every scenario alike); each scenario's row is its median round by req/s."""
    scenarios, skipped = _selected(options.scenarios)
    if options.tool == "wrk" and not wrk.available():
        raise BenchError("wrk is not installed (use --tool python)")
    say = progress or (lambda _message: None)
    notes = [f"{s.name}: skipped, the {s.requires} service is not in this build" for s in skipped]
    runs: dict[str, list[Row]] = {scenario.name: [] for scenario in scenarios}
    with tempfile.TemporaryDirectory(prefix="lugx-bench-") as tmp:
        root = options.data_dir or Path(tmp)
        shared: dict[tuple[str, str | None], DataSet] = {}
        for scenario in list(scenarios):
            key = (scenario.data or "", scenario.database)
            if scenario.data is None or key in shared:
                continue
            try:
                shared[key] = datasets.prepare(
                    scenario.data,
                    scenario.database,
                    games=options.games,
                    seed=options.catalog_seed,
                    root=root,
                    child_env=lambda extra: _child_env({**SERVER_ENV, **extra}),
                    say=say,
                )
                notes.append(shared[key].note)
            except DataUnavailable as exc:
                notes.append(f"{scenario.name}: skipped, {exc}")
                scenarios = [s for s in scenarios if (s.data, s.database) != key]
                runs = {name: rows for name, rows in runs.items() if name != scenario.name}
        for round_number in range(1, options.rounds + 1):
            for scenario in scenarios:
                label = f"round {round_number}/{options.rounds}, " if options.rounds > 1 else ""
                say(f"bench: {scenario.name}: {label}starting the {scenario.app} server")
                data = shared.get((scenario.data or "", scenario.database)) or DataSet(
                    root / f"{scenario.name}-{round_number}", {}, ""
                )
                runs[scenario.name].append(
                    _run_scenario(scenario, options, data, say, round_number)
                )
    report = BenchReport(options, rows=[_median(rows) for rows in runs.values()], notes=notes)
    baseline = next(row for row in report.rows if row.scenario.baseline)
    for row in report.rows:
        row.ratio = row.load.rps / baseline.load.rps if baseline.load.rps else None
    return report


def _median(rows: list[Row]) -> Row:
    ranked = sorted(rows, key=lambda row: row.load.rps)
    return ranked[(len(ranked) - 1) // 2]


def _selected(names: Sequence[str]) -> tuple[list[Scenario], list[Scenario]]:
    """The scenarios to run, and those skipped because a service they need is not built."""
    from lugx.services import SERVICE_MODULES

    known = {scenario.name for scenario in SCENARIOS}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise BenchError(f"unknown scenario {unknown[0]!r}; known: {', '.join(sorted(known))}")
    chosen = [s for s in SCENARIOS if s.baseline or not names or s.name in names]
    missing = [s for s in chosen if s.requires is not None and s.requires not in SERVICE_MODULES]
    if names and missing:
        raise BenchError(f"{missing[0].name} needs the {missing[0].requires} service")
    return [s for s in chosen if s not in missing], missing


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without LUGX_ settings, with this checkout importable from
    anywhere (the processes run in their own folder, away from any .env)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LUGX_")}
    source = str(Path(lugx.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
    return {**env, **extra}


def _run_scenario(
    scenario: Scenario, options: BenchOptions, data: DataSet, say: Progress, round_number: int
) -> Row:
    data_dir = data.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    env = _child_env({**SERVER_ENV, **data.env, "LUGX_DATA_DIR": str(data_dir)})
    log_path = data_dir / f"server-{scenario.name}-{round_number}.log"
    server = ServerProcess(scenario.app, env=env, log_path=log_path, cwd=data_dir)
    connections = scenario.connections or options.connections
    with server:
        request = asyncio.run(_prepare(scenario, server.base_url))
        target = Target(
            host="127.0.0.1",
            port=server.port,
            method=request.method,
            path=request.path,
            headers=request.headers,
            body=request.body,
            paths=request.paths,
        )
        rotating = f" (and {len(request.paths) - 1:,} more in turn)" if request.paths else ""
        say(
            f"bench: {scenario.name}: {request.method} {request.path}{rotating}, "
            f"{connections} connections, {options.warmup:g} s warm-up + {options.seconds:g} s"
        )
        edge_before = edge_lookups(server.base_url)
        meter = CpuMeter(server, warmup=options.warmup, seconds=options.seconds)
        meter.start()
        load = (
            _run_flows(request, server.base_url, options, connections, data_dir)
            if request.flow
            else _generate_load(target, options, connections, data_dir)
        )
        meter.join()
        memory = server.memory()
        edge_after = edge_lookups(server.base_url)
    edge = {k: edge_after.get(k, 0) - edge_before.get(k, 0) for k in edge_after}
    return Row(
        scenario,
        request,
        load,
        memory,
        connections=connections,
        edge=edge,
        server_cpu_seconds=meter.used,
    )


_EDGE_LOOKUP = re.compile(r'^lugx_edge_cache_lookups_total\{result="(\w+)"\} ([0-9.e+]+)$', re.M)


def edge_lookups(base_url: str) -> dict[str, int]:
    """The server's edge cache lookups so far, by result (hit, not_modified, miss), from its
    /metrics; empty for a server without one."""
    try:
        response = httpx.get(f"{base_url}/metrics", timeout=10)
    except httpx.HTTPError:
        return {}
    if response.status_code != 200:
        return {}
    return {result: int(float(count)) for result, count in _EDGE_LOOKUP.findall(response.text)}


async def _prepare(scenario: Scenario, base_url: str) -> Request:
    """The scenario's setup, then its request once (a sample of its paths, when it has many):
    each must succeed before it is measured."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        request = await scenario.setup(http)
        if request.flow:
            return request  # a journey checks every answer itself, under load
        paths = request.paths or (request.path,)
        step = max(1, len(paths) // CHECKED_PATHS)
        for path in paths[::step]:
            check = await http.request(
                request.method, path, headers=request.headers, content=request.body or None
            )
            if not check.is_success:
                raise BenchError(
                    f"{scenario.name}: {request.method} {path} answered {check.status_code}: "
                    f"{check.text[:300]}"
                )
    return request


def _generate_load(
    target: Target, options: BenchOptions, connections: int, cwd: Path
) -> LoadResult:
    if options.tool == "wrk":
        return wrk.generate_load(
            target, connections=connections, seconds=options.seconds, warmup=options.warmup
        )
    job = job_to_json(
        target, connections=connections, seconds=options.seconds, warmup=options.warmup
    )
    return _load_process("lugx.bench.loadgen", job, "request", options, cwd)


def _run_flows(
    request: Request, base_url: str, options: BenchOptions, connections: int, cwd: Path
) -> LoadResult:
    """A journey scenario: its players in a process of their own (lugx.bench.flows)."""
    job = {
        "base_url": base_url,
        "flow": request.flow,
        "state": request.state,
        "connections": connections,
        "seconds": options.seconds,
        "warmup": options.warmup,
    }
    return _load_process("lugx.bench.flows", json.dumps(job), str(request.flow), options, cwd)


def _load_process(module: str, job: str, unit: str, options: BenchOptions, cwd: Path) -> LoadResult:
    """Run a load module in its own process (so its CPU is not the server's), job on stdin,
    its LoadResult as JSON on stdout."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and one of our modules
        [sys.executable, "-m", module],
        input=job,
        capture_output=True,
        text=True,
        env=_child_env({}),
        cwd=cwd,
        timeout=options.warmup + options.seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{module} failed:\n{done.stderr[-2000:]}")
    result = LoadResult(**json.loads(done.stdout))
    if result.requests == 0:
        raise BenchError(f"no {unit} completed: {result.statuses}\n{done.stderr[-2000:]}")
    return result


def render_json(report: BenchReport) -> str:
    options = report.options
    return json.dumps(
        {
            "tool": options.tool,
            "connections": options.connections,
            "rounds": options.rounds,
            "seconds": options.seconds,
            "warmup": options.warmup,
            "cpus": report.cpus,
            "python": sys.version.split()[0],
            "results": [row.to_json() for row in report.rows],
        },
        indent=2,
    )


def render_table(report: BenchReport) -> str:
    options = report.options
    header = (
        "scenario",
        "conns",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "CPU ms",
        "RSS MiB",
        "edge hits",
        "vs baseline",
    )
    rows = [
        (
            row.scenario.name,
            str(row.connections or options.connections),
            f"{row.load.rps:,.0f}",
            f"{row.load.p50_ms:.2f}",
            f"{row.load.p99_ms:.2f}",
            _errors(row.load),
            "-" if row.cpu_ms is None else f"{row.cpu_ms:.3f}",
            f"{row.memory.get('peak_rss_mib', 0):.1f}",
            "-" if row.edge_hit_share is None else f"{row.edge_hit_share:.1%}",
            _ratio(row),
        )
        for row in report.rows
    ]
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    title = (
        f"Lugx benchmark: {options.connections} connections, {options.seconds:g} s after a "
        f"{options.warmup:g} s warm-up, {options.tool} load generator, {report.cpus} CPUs, "
        f"Python {sys.version.split()[0]}"
        + (f", median of {options.rounds} rounds" if options.rounds > 1 else "")
    )
    notes = [f"  {row.scenario.name}: {row.scenario.title}" for row in report.rows]
    notes += [
        f"  {row.scenario.name} targets: "
        + "; ".join(
            f"{target} {'met' if met else 'MISSED'} ({measured})"
            for target, measured, met in row.verdicts()
        )
        for row in report.rows
        if row.verdicts()
    ]
    notes += [
        f"  {row.scenario.name}: {row.request.note}" for row in report.rows if row.request.note
    ]
    notes += [f"  {note}" for note in report.notes]
    notes += [
        f"  warning: {row.load.statuses[OUT_OF_GAMES]} of {row.scenario.name}'s players bought"
        " every game they were given before the end, and stopped: shorten the run"
        for row in report.rows
        if row.load.statuses.get(OUT_OF_GAMES)
    ]
    notes += [
        f"  warning: the load generator used {row.load.client_cpu:.0%} of a core for "
        f"{row.scenario.name}; it may be the bottleneck (try --tool wrk)"
        for row in report.rows
        if row.load.client_cpu > CLIENT_CPU_WARNING
    ]
    return "\n".join(
        [
            title,
            "",
            line(header),
            *(line(row) for row in rows),
            "",
            *notes,
            "  CPU ms: the server process's CPU time per request (per journey for a journey)"
            " over the measured seconds; hello's tells how fast the machine was.",
            "  RSS is the server process's peak resident memory. Edge hits: the share of the"
            " requests (warm-up included) the gateway answered from its edge cache.",
        ]
    )


def _errors(load: LoadResult) -> str:
    total = load.errors + load.socket_errors
    return str(total)


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return "-"
    text = f"{row.ratio:.2f}"
    target = row.scenario.target_ratio
    if target is not None:
        text += f" ({'meets' if row.ratio >= target else 'below'} {target:g})"
    return text
