"""Settings for every Lugx process, read from `LUGX_...` environment variables and `.env`.

The defaults are the embedded wiring: one SQLite file per service under `data_dir`, in-memory
cache and rate limits, in-process events. Pointing a service's database URL at PostgreSQL, or
setting `redis_url` / `broker_url`, switches that adapter and nothing else.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The services of the platform and their ports in the distributed wiring (see docs/architecture.md).
SERVICE_PORTS: dict[str, int] = {
    "gateway": 8000,
    "users": 8001,
    "catalog": 8002,
    "reviews": 8003,
    "shopping": 8004,
    "purchases": 8005,
    "payments": 8006,
    "online": 8007,
    "social": 8008,
    "notifications": 8009,
    "recommendations": 8010,
    "achievements": 8011,
    "monitoring": 8012,
    "analytics": 8013,
    "web": 3000,
}

Environment = Literal["development", "test", "production"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LUGX_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # `LUGX_SECRET_KEY=` in a .env means "not set", never "the empty string".
        env_ignore_empty=True,
    )

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("data")
    log_level: str = "INFO"
    log_json: bool = True

    # Databases. `database_url_template` (e.g. postgresql+asyncpg://127.0.0.1:5432/lugx_{service})
    # applies to every service; `database_urls` overrides single services
    # (LUGX_DATABASE_URLS='{"users": "postgresql+asyncpg://..."}'), and so does
    # LUGX_<SERVICE>_DATABASE_URL, the spelling operators reach for first.
    database_url_template: str | None = None
    database_urls: dict[str, str] = Field(default_factory=dict)
    users_database_url: str | None = None
    catalog_database_url: str | None = None
    reviews_database_url: str | None = None
    shopping_database_url: str | None = None
    purchases_database_url: str | None = None
    payments_database_url: str | None = None
    db_echo: bool = False
    db_pool_size: int = Field(default=10, ge=1, le=200)

    # Adapters: unset means the embedded, in-memory / in-process choice.
    redis_url: str | None = None
    cache_prefix: str = "lugx:"  # keys in a shared Redis start with this
    broker_url: str | None = None  # nats://, redis://, amqp://, kafka://

    # Distributed wiring: where each service listens. Unset means http://127.0.0.1:<port>.
    service_urls: dict[str, str] = Field(default_factory=dict)
    upstream_timeout_seconds: float = Field(default=10.0, gt=0, le=300)

    # Secrets. Development generates and keeps them under data_dir; production must set them.
    secret_key: SecretStr | None = None
    jwt_private_key: SecretStr | None = None  # PEM, Ed25519
    jwt_private_key_file: Path | None = None
    jwt_key_id: str | None = None
    # Key rotation: public keys (PEM) of earlier signing keys, still published in the JWKS and
    # still accepted until the tokens they signed have expired.
    jwt_previous_public_keys: list[str] = Field(default_factory=list)
    jwt_issuer: str = "lugx"
    jwks_url: str | None = None  # distributed: where other services fetch the users service's keys
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    email_verification_ttl_hours: int = Field(default=48, ge=1, le=720)

    # Password hashing (argon2id). The defaults follow OWASP's minimum (19 MiB, 2 passes);
    # tests lower them to stay fast.
    password_hash_time_cost: int = Field(default=2, ge=1, le=10)
    password_hash_memory_kib: int = Field(default=19_456, ge=8, le=1_048_576)
    password_hash_parallelism: int = Field(default=1, ge=1, le=16)

    # Edge protection.
    rate_limit_per_minute: int = Field(default=1200, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    cors_origins: list[str] = Field(default_factory=list)
    # Peers whose X-Forwarded-For is believed (the gateway, on loopback, by default).
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    # The gateway's edge cache (lugx/gateway/edge_cache.py): anonymous GETs of responses a
    # service marked `public, max-age=N` with an ETag are answered by the gateway itself, for
    # min(N, edge_cache_max_ttl_seconds), least recently used first out past either bound, and
    # dropped at once by the catalog's events. 0 entries (or a 0 s ceiling) turns it off.
    edge_cache_max_entries: int = Field(default=10_000, ge=0)
    edge_cache_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    edge_cache_max_ttl_seconds: float = Field(default=60.0, ge=0, le=86_400)
    # Distributed wiring: the broker consumer the gateway's cache listens to events as. Every
    # gateway replica needs its own name (e.g. gateway-edge-0, -1...): a consumer gets each event
    # once, so replicas sharing a name would each miss the events the others got. The distributed
    # gateway caches only when LUGX_BROKER_URL is set (nothing could tell it of changes otherwise).
    edge_cache_consumer: str = Field(default="gateway-edge", pattern=r"^[A-Za-z0-9_-]{1,64}$")

    # Failed logins: after `login_slowdown_after` failures in the window each attempt is delayed,
    # after `login_lockout_after` they are refused with 429 until the window passes.
    login_window_seconds: int = Field(default=900, ge=1)
    login_slowdown_after: int = Field(default=3, ge=1)
    login_lockout_after: int = Field(default=10, ge=2)
    login_slowdown_seconds: float = Field(default=0.5, ge=0, le=10)

    # Events. A consumer dead-letters an event after `event_max_attempts` failed handlings; the
    # relay keeps trying to hand an event to the transport for `event_relay_max_attempts` (more,
    # so a broker outage of about an hour loses nothing and an in-process consumer always gets
    # to dead-letter first), then leaves it for `lugx events requeue`.
    event_namespace: str = Field(default="lugx", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    outbox_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    # An event is handed to its relay in memory once its transaction commits; its outbox row
    # is left to polls (after a crash, say) only this long after.
    outbox_fresh_grace_seconds: float = Field(default=2.0, gt=0, le=600)
    # ... after waiting in memory this long: the request that wrote it usually finishes
    # meanwhile what its consumers would do again, and events go out together (below the grace).
    outbox_fresh_delay_seconds: float = Field(default=0.05, ge=0, le=1)
    event_max_attempts: int = Field(default=8, ge=1, le=100)
    event_relay_max_attempts: int = Field(default=20, ge=1, le=1000)
    # Published outbox rows are deleted after this long (they may hold secrets such as an
    # e-mail verification token, and they add up).
    outbox_retention_hours: float = Field(default=72, gt=0, le=24 * 365)
    event_backoff_base_seconds: float = Field(default=0.5, gt=0, le=60)
    event_backoff_max_seconds: float = Field(default=300.0, gt=0)

    # Payments: the bounds of one wallet top-up (minor units, USD) and how long a payment that
    # needs the confirmation step (3-D Secure) waits for it before it can no longer be confirmed.
    payments_top_up_min: int = Field(default=500, ge=1)
    payments_top_up_max: int = Field(default=50_000, ge=1, le=100_000_000)
    payments_confirmation_ttl_seconds: int = Field(default=900, ge=10, le=86_400)

    # Reviews: how often games whose recent (30-day) score may have moved because a day left
    # the window get their summary republished.
    reviews_recent_refresh_seconds: float = Field(default=3600.0, gt=0, le=86_400)

    # Purchases: how long an order awaits the player's payment confirmation before it expires;
    # how often the recovery loop runs and how long a `pending` order is left to its own request
    # before the loop settles it. `purchases_crash_point` is for the crash tests only: the
    # process SIGKILLs itself when the saga reaches the step it names (docs/purchases.md).
    purchases_payment_deadline_seconds: float = Field(default=900.0, gt=0)
    purchases_recovery_interval_seconds: float = Field(default=5.0, gt=0, le=3600)
    purchases_pending_grace_seconds: float = Field(default=30.0, ge=0)
    purchases_crash_point: str | None = None

    # Quick start only: demo data and demo accounts are never loaded in production.
    demo_data: bool = True

    @model_validator(mode="after")
    def _fresh_events_go_before_polls(self) -> Settings:
        """A delay set below a grace set that short is refused; the default delay, left unset,
        shrinks to a quarter of it instead (a short grace set before the delay existed)."""
        if self.outbox_fresh_delay_seconds < self.outbox_fresh_grace_seconds:
            return self
        if "outbox_fresh_delay_seconds" not in self.model_fields_set:
            self.outbox_fresh_delay_seconds = self.outbox_fresh_grace_seconds / 4
            return self
        raise ValueError(
            "LUGX_OUTBOX_FRESH_DELAY_SECONDS must be below LUGX_OUTBOX_FRESH_GRACE_SECONDS"
        )

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> Settings:
        """Production never invents secrets. Every process needs the HMAC secret; the process
        that signs tokens (users, or `lugx up`) also needs the private key, checked when it
        loads it (`load_signing_key`), so the gateway and other services never hold it."""
        if not self.is_production:
            return self
        if self.secret_key is None:
            raise ValueError("production refuses to start without its secrets: set LUGX_SECRET_KEY")
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("LUGX_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def loads_demo_data(self) -> bool:
        return self.demo_data and not self.is_production

    def database_url(self, service: str) -> str:
        explicit = getattr(self, f"{service}_database_url", None) or self.database_urls.get(service)
        if explicit:
            return str(explicit)
        if self.database_url_template:
            return self.database_url_template.format(service=service)
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{service}.db').resolve()}"

    def service_url(self, service: str) -> str:
        if service in self.service_urls:
            return self.service_urls[service].rstrip("/")
        return f"http://127.0.0.1:{SERVICE_PORTS[service]}"

    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.service_url('users')}/.well-known/jwks.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
