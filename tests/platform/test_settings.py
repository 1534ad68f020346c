from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lugx.platform.auth.keys import generate_private_pem, load_secret_key, load_signing_key
from lugx.platform.settings import Settings


def make(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_defaults_are_the_embedded_wiring(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path)
    assert settings.database_url("users") == f"sqlite+aiosqlite:///{tmp_path.resolve()}/users.db"
    assert settings.redis_url is None
    assert settings.broker_url is None
    assert settings.loads_demo_data


def test_one_service_switches_to_postgresql_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LUGX_USERS_DATABASE_URL", "postgresql+asyncpg://db/lugx_users")
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.database_url("users") == "postgresql+asyncpg://db/lugx_users"
    assert settings.database_url("catalog").startswith("sqlite+aiosqlite:///")


def test_template_applies_to_every_service(tmp_path: Path) -> None:
    settings = make(database_url_template="postgresql+asyncpg://db/lugx_{service}")
    assert settings.database_url("catalog") == "postgresql+asyncpg://db/lugx_catalog"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("LUGX_PORT=9123\nLUGX_REDIS_URL=redis://cache:6379/0\n")
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.port == 9123
    assert settings.redis_url == "redis://cache:6379/0"


def test_production_refuses_to_start_without_its_secrets() -> None:
    with pytest.raises(ValidationError, match="LUGX_SECRET_KEY"):
        make(environment="production")


def test_production_refuses_to_sign_tokens_without_the_private_key(tmp_path: Path) -> None:
    settings = make(environment="production", secret_key="s" * 40, data_dir=tmp_path)
    with pytest.raises(RuntimeError, match="LUGX_JWT_PRIVATE_KEY"):
        load_signing_key(settings)
    assert not (tmp_path / "secrets").exists()


def test_empty_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LUGX_SECRET_KEY", "")
    monkeypatch.setenv("LUGX_JWT_PRIVATE_KEY_FILE", "")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.secret_key is None
    assert settings.jwt_private_key_file is None


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32"):
        make(environment="production", secret_key="short", jwt_private_key=generate_private_pem())


def test_production_with_secrets_never_loads_demo_data(tmp_path: Path) -> None:
    pem = generate_private_pem()
    settings = make(
        environment="production", secret_key="s" * 40, jwt_private_key=pem, data_dir=tmp_path
    )
    assert not settings.loads_demo_data
    assert load_signing_key(settings).kid
    assert load_secret_key(settings) == b"s" * 40
    # Nothing was generated on disk in production.
    assert not (tmp_path / "secrets").exists()


def test_development_keys_are_made_once_and_kept_private(tmp_path: Path) -> None:
    settings = make(data_dir=tmp_path)
    first = load_signing_key(settings)
    second = load_signing_key(settings)
    assert first.kid == second.kid
    key_file = tmp_path / "secrets" / "jwt-ed25519.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert load_secret_key(settings) == load_secret_key(settings)


def test_a_non_ed25519_key_is_refused(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    rsa_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_signing_key(make(jwt_private_key=rsa_pem, data_dir=tmp_path))


def test_fresh_events_must_go_out_before_a_poll_may_take_them() -> None:
    with pytest.raises(ValidationError, match="LUGX_OUTBOX_FRESH_DELAY_SECONDS"):
        make(outbox_fresh_delay_seconds=1.0, outbox_fresh_grace_seconds=0.5)
    assert make(outbox_fresh_delay_seconds=0.2).outbox_fresh_delay_seconds == 0.2
    # A short grace set alone still starts: the default delay shrinks under it.
    assert make(outbox_fresh_grace_seconds=0.04).outbox_fresh_delay_seconds == 0.01
