"""The distributed wiring as real processes: `lugx serve users` and `lugx serve gateway`, each
its own OS process, talking HTTP. The gateway knows the users service only by URL and verifies
tokens with the keys it fetched from the users service's JWKS."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lugx.services import SERVICE_MODULES
from tests.brokers import remove_namespace
from tests.conftest import TEST_BROKER_URL, TEST_REDIS_URL, free_port

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


def cluster_env(tmp_path: Path, urls: dict[str, str]) -> dict[str, str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LUGX_")},
        "LUGX_ENVIRONMENT": "test",
        "LUGX_DATA_DIR": str(tmp_path / "data"),
        "LUGX_LOG_LEVEL": "INFO",
        "LUGX_PASSWORD_HASH_TIME_COST": "1",
        "LUGX_PASSWORD_HASH_MEMORY_KIB": "64",
        "LUGX_SERVICE_URLS": json.dumps(urls),
        "LUGX_DEMO_DATA": "false",
        # Every process signs and checks calls between services with this one secret.
        "LUGX_SECRET_KEY": "distributed-test-secret-key-of-32-bytes-or-more",
        "LUGX_OUTBOX_POLL_SECONDS": "0.05",
    }
    if TEST_REDIS_URL:
        env["LUGX_REDIS_URL"] = TEST_REDIS_URL
        env["LUGX_CACHE_PREFIX"] = f"lugx-dist-test:{tmp_path.name}:"
    if TEST_BROKER_URL:
        # Events cross processes only through a broker; each run gets its own streams.
        env["LUGX_BROKER_URL"] = TEST_BROKER_URL
        env["LUGX_EVENT_NAMESPACE"] = f"lugxdist{uuid.uuid4().hex[:12]}"
    return env


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Every service of this build in its own process, and the gateway in front."""
    names = [*SERVICE_MODULES, "gateway"]
    ports = {name: free_port() for name in names}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items() if name != "gateway"}
    env = cluster_env(tmp_path, urls)
    lugx = str(Path(sys.executable).parent / "lugx")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    logs = {name: tmp_path / f"{name}.log" for name in names}
    # The users service first: it writes the signing key the others read from its JWKS.
    for name in names:
        processes[name] = subprocess.Popen(
            [lugx, "serve", name, "--port", str(ports[name])],
            env=env,
            cwd=tmp_path,
            stdout=logs[name].open("wb"),
            stderr=subprocess.STDOUT,
        )
        if name == "users":
            wait_until_healthy(urls["users"], processes[name], logs[name])
    try:
        for name in names:
            wait_until_healthy(f"http://127.0.0.1:{ports[name]}", processes[name], logs[name])
        yield {
            "gateway": f"http://127.0.0.1:{ports['gateway']}",
            "users": urls["users"],
            "logs": logs,
            "env": env,
        }
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if TEST_BROKER_URL:  # the run's own streams go with it
            asyncio.run(remove_namespace(TEST_BROKER_URL, env["LUGX_EVENT_NAMESPACE"], []))


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


PASSWORD = "crowbar and resonance cascade 1998"


def signed_in(http: httpx.Client, username: str, *, register: bool = True) -> dict[str, str]:
    if register:
        registered = http.post(
            "/api/v1/users/register",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        )
        assert registered.status_code == 201, registered.text
    tokens = http.post("/api/v1/users/login", json={"login": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


@pytest.mark.skipif("purchases" not in SERVICE_MODULES, reason="needs the commerce services")
def test_a_purchase_crosses_every_process(cluster: dict[str, object], tmp_path: Path) -> None:
    """Cart (shopping) -> checkout (purchases) -> charge (payments) -> library, each service its
    own process calling the others over HTTP with its service token."""
    env = cluster["env"]
    lugx = str(Path(sys.executable).parent / "lugx")
    with httpx.Client(base_url=str(cluster["gateway"]), timeout=30) as http:
        signed_in(http, "valve")
        subprocess.run(
            [lugx, "users", "grant-role", "valve", "publisher"],
            env=env,  # type: ignore[arg-type]
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        studio = signed_in(http, "valve", register=False)  # a token with the new role
        made = http.post("/api/v1/catalog/publishers", json={"name": "Valve"}, headers=studio)
        assert made.status_code == 201, made.text
        game = http.post(
            "/api/v1/catalog/games",
            json={
                "title": "Half-Life",
                "short_description": "A scientist, a crowbar, a resonance cascade.",
                "price": {"amount": 999, "currency": "USD"},
                "genres": ["action"],
            },
            headers=studio,
        )
        assert game.status_code == 201, game.text
        app_id = game.json()["app_id"]
        published = http.patch(
            f"/api/v1/catalog/games/{app_id}", json={"status": "published"}, headers=studio
        )
        assert published.status_code == 200, published.text

        player = signed_in(http, "freeman")
        added = http.post("/api/v1/shopping/cart/items", json={"app_id": app_id}, headers=player)
        assert added.status_code == 201, added.text
        card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}
        order = http.post(
            "/api/v1/purchases/checkout",
            json={"payment_method": "card", "card": card},
            headers={**player, "Idempotency-Key": "dist-checkout-1"},
        )
        assert order.status_code == 201, order.text
        assert order.json()["status"] in ("paid", "completed"), order.text
        library = http.get("/api/v1/purchases/library", headers=player).json()
        assert [item["app_id"] for item in library["items"]] == [app_id]
        if TEST_BROKER_URL:
            # OrderPaid travels through the broker to shopping, which empties the cart.
            deadline = time.monotonic() + 30
            while http.get("/api/v1/shopping/cart", headers=player).json()["items"]:
                assert time.monotonic() < deadline, "the cart was never cleared"
                time.sleep(0.2)
