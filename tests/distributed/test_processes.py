"""The distributed wiring as real processes: `lugx serve users` and `lugx serve gateway`, each
its own OS process, talking HTTP. The gateway knows the users service only by URL and verifies
tokens with the keys it fetched from the users service's JWKS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_REDIS_URL, free_port

pytestmark = pytest.mark.slow


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up:\n{log.read_text()}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    users_port, catalog_port, gateway_port = free_port(), free_port(), free_port()
    users_url = f"http://127.0.0.1:{users_port}"
    catalog_url = f"http://127.0.0.1:{catalog_port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LUGX_")},
        "LUGX_ENVIRONMENT": "test",
        "LUGX_DATA_DIR": str(tmp_path / "data"),
        "LUGX_LOG_LEVEL": "INFO",
        "LUGX_PASSWORD_HASH_TIME_COST": "1",
        "LUGX_PASSWORD_HASH_MEMORY_KIB": "64",
        "LUGX_SERVICE_URLS": json.dumps({"users": users_url, "catalog": catalog_url}),
        "LUGX_DEMO_DATA": "false",
    }
    if TEST_REDIS_URL:
        env["LUGX_REDIS_URL"] = TEST_REDIS_URL
        env["LUGX_CACHE_PREFIX"] = f"lugx-dist-test:{users_port}:"
    lugx = str(Path(sys.executable).parent / "lugx")
    processes = []
    logs = {}
    services = (("users", users_port), ("catalog", catalog_port), ("gateway", gateway_port))
    for name, port in services:
        log = tmp_path / f"{name}.log"
        logs[name] = log
        process = subprocess.Popen(
            [lugx, "serve", name, "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
    try:
        yield {"gateway": f"http://127.0.0.1:{gateway_port}", "users": users_url, "logs": logs}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_player_signs_up_and_in_across_processes(cluster: dict[str, object]) -> None:
    gateway = str(cluster["gateway"])
    with httpx.Client(base_url=gateway, timeout=10) as http:
        registered = http.post(
            "/api/v1/users/register",
            json={
                "username": "shephard",
                "email": "shephard@example.com",
                "password": "opposing force 1998",
            },
            headers={"x-request-id": "dist-test-000001"},
        )
        assert registered.status_code == 201, registered.text
        assert registered.headers["x-request-id"] == "dist-test-000001"
        tokens = http.post(
            "/api/v1/users/login",
            json={"login": "shephard", "password": "opposing force 1998"},
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        me = http.get("/api/v1/users/me", headers=headers)
        assert me.status_code == 200
        assert me.json()["username"] == "shephard"
        # The gateway checks tokens with the JWKS it fetched from the users process.
        forged = tokens["access_token"][:-4] + (
            "AAAA" if not tokens["access_token"].endswith("AAAA") else "BBBB"
        )
        assert (
            http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"}).status_code
            == 401
        )
        assert http.get("/readyz").json()["status"] == "ok"
        # A second service behind the same gateway, verifying tokens on its own.
        assert http.get("/api/v1/catalog/shelves/top-sellers").status_code == 200
        mine = http.get("/api/v1/catalog/publishers/mine", headers=headers)
        assert mine.status_code == 200
        assert mine.json() == []
        assert "/api/v1/users/register" in http.get("/openapi.json").json()["paths"]
        # Signing out in the users process ends the session for the gateway too.
        assert http.post("/api/v1/users/logout", headers=headers).status_code == 204
        assert http.get("/api/v1/users/me", headers=headers).status_code == 401
    # The request id the gateway was given reached the users process and its logs.
    users_log = cluster["logs"]["users"].read_text()  # type: ignore[index]
    assert "dist-test-000001" in users_log
