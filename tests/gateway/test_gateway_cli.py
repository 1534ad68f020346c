"""`lugx` commands, run in-process against a temporary data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import lugx.cli
from lugx.cli import main
from lugx.platform.auth.keys import generate_private_pem

STRONG_PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)  # away from any .env
    env = {
        "LUGX_DATA_DIR": str(tmp_path / "data"),
        "LUGX_LOG_LEVEL": "WARNING",
        "LUGX_PASSWORD_HASH_TIME_COST": "1",
        "LUGX_PASSWORD_HASH_MEMORY_KIB": "64",
        "LUGX_ENVIRONMENT": "test",
    }

    def invoke(*args: str, input: str | None = None, **extra_env: str) -> Result:
        return CliRunner().invoke(main, list(args), env={**env, **extra_env}, input=input)

    return invoke


def test_keys_generate_prints_an_ed25519_pem(run: Any) -> None:
    result = run("keys", "generate")
    assert result.exit_code == 0
    key = serialization.load_pem_private_key(result.output.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)


@pytest.mark.parametrize("command", [["up"], ["serve", "users"], ["serve", "gateway"]])
def test_production_refuses_to_start_without_its_secrets(run: Any, command: list[str]) -> None:
    result = run(*command, LUGX_ENVIRONMENT="production")
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.startswith("lugx: ")
    assert "LUGX_SECRET_KEY" in message
    assert "\n" not in message  # one clear line, no traceback


def test_seed_is_refused_in_production(run: Any) -> None:
    result = run(
        "seed",
        LUGX_ENVIRONMENT="production",
        LUGX_SECRET_KEY="s" * 40,
        LUGX_JWT_PRIVATE_KEY=generate_private_pem(),
    )
    assert result.exit_code == 2
    assert "production" in result.output


def test_up_listens_where_it_is_told(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[tuple[str, int]] = []
    monkeypatch.setattr(
        lugx.cli, "run_server", lambda app, *, host, port: served.append((host, port))
    )
    assert run("up").exit_code == 0
    assert run("up", PORT="9123").exit_code == 0
    assert run("up", "--port", "9200", "--host", "0.0.0.0", PORT="9123").exit_code == 0
    assert served == [("127.0.0.1", 8000), ("127.0.0.1", 9123), ("0.0.0.0", 9200)]


def test_serve_knows_each_services_port(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[int] = []
    monkeypatch.setattr(lugx.cli, "run_server", lambda app, *, host, port: served.append(port))
    assert run("serve", "users").exit_code == 0
    assert run("serve", "gateway").exit_code == 0
    assert run("serve", "users", "--port", "9001").exit_code == 0
    assert served == [8001, 8000, 9001]
    unknown = run("serve", "teleporter")
    assert unknown.exit_code == 2
    assert "teleporter" in unknown.output


def test_migrate_then_admin_accounts(run: Any, tmp_path: Path) -> None:
    migrated = run("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert "users: migrated (sqlite)" in migrated.output
    assert (tmp_path / "data" / "users.db").exists()
    assert run("migrate", "nope").exit_code == 1

    created = run(
        "users",
        "create-admin",
        "--username",
        "chief",
        "--email",
        "chief@lugx.example",
        input=f"{STRONG_PASSWORD}\n{STRONG_PASSWORD}\n",
    )
    assert created.exit_code == 0, created.output
    assert "created admin chief" in created.output
    assert STRONG_PASSWORD not in created.output

    again = run(
        "users",
        "create-admin",
        "--username",
        "chief",
        "--email",
        "chief@lugx.example",
        "--password",
        STRONG_PASSWORD,
    )
    assert again.exit_code == 1
    assert again.output.startswith("lugx: ")

    granted = run("users", "grant-role", "chief", "publisher")
    assert granted.exit_code == 0, granted.output
    assert "publisher" in granted.output
    assert "admin" in granted.output
    assert run("users", "grant-role", "nobody", "admin").exit_code == 1
    assert run("users", "grant-role", "chief", "emperor").exit_code == 2


def test_events_commands(run: Any) -> None:
    listed = run("events", "dead-letters", "users")
    assert listed.exit_code == 0, listed.output
    assert "no dead letters" in listed.output
    missing = run("events", "replay", "users", "not-a-uuid")
    assert missing.exit_code == 1
    assert "not-a-uuid" in missing.output
    assert "no undelivered events" in run("events", "undelivered", "users").output
    assert "requeued 0" in run("events", "requeue", "users").output
