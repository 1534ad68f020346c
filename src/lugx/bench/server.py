"""A server under test: one of `apps.APPS` in its own uvicorn process, on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx

STARTUP_TIMEOUT_SECONDS = 60.0


class BenchError(Exception):
    """The benchmark cannot go on (a server did not start, a setup request failed...)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ServerProcess:
    def __init__(
        self, app: str, *, env: dict[str, str], log_path: Path, cwd: Path | None = None
    ) -> None:
        self.app = app
        self._cwd = cwd
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = env
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> None:
        with self._log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "lugx.bench.apps", self.app, str(self.port)],
                env=self._env,
                cwd=self._cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BenchError(f"the {self.app} server exited at start; see {self._log_path}")
            try:
                if httpx.get(self.base_url + "/", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"the {self.app} server did not start in time; see {self._log_path}")

    def memory(self) -> dict[str, float]:
        """Resident memory now and at its peak, in MiB (Linux /proc; elsewhere `ps`, now only)."""
        status = Path(f"/proc/{self.pid}/status")
        if status.exists():
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            return {
                "rss_mib": _kib(fields.get("VmRSS", "0 kB")) / 1024,
                "peak_rss_mib": _kib(fields.get("VmHWM", "0 kB")) / 1024,
            }
        out = subprocess.run(  # noqa: S603
            ["ps", "-o", "rss=", "-p", str(self.pid)],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        rss = int(out or 0) / 1024
        return {"rss_mib": rss, "peak_rss_mib": rss}

    def cpu_seconds(self) -> float | None:
        """The CPU time the server has used so far (user and system), or None where /proc
        cannot tell (not Linux)."""
        stat = Path(f"/proc/{self.pid}/stat")
        if not stat.exists():
            return None
        # The fields after the command name, which is in parentheses and may hold spaces.
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __del__(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()


class CpuMeter(threading.Thread):
    """The server's CPU time over the measured part of a load: from `warmup` seconds after it
    starts to `seconds` later (a thread, since the load runs in the caller)."""

    def __init__(self, server: ServerProcess, *, warmup: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self._server, self._warmup, self._seconds = server, warmup, seconds
        self.used: float | None = None

    def run(self) -> None:
        time.sleep(self._warmup)
        start = self._server.cpu_seconds()
        time.sleep(self._seconds)
        end = self._server.cpu_seconds()
        if start is not None and end is not None:
            self.used = end - start


def _kib(value: str) -> float:
    return float(value.strip().split()[0])
