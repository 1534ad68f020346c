"""The data a benchmark server starts on: a generated catalog (`lugx seed --games N`), in SQLite
files under the bench folder or in PostgreSQL databases made afresh for the run.

- `catalog`: the load catalog (100,000 games by default), for the catalog scenarios;
- `shop`: a smaller catalog for the purchase journeys, which need games to buy, not many;
- `reviews`: a small catalog whose first game has 100,000 reviews and 1,000,000 votes
  (`lugx seed --games 1000 --reviews 100000 --votes 1000000`), for the reviews scenarios.

A SQLite data set is seeded once and kept with `--keep-data`; a PostgreSQL one is made for each
bench run (databases `lugx_bench_<service>`, dropped first), seeded once and shared by the
scenarios of that run. Without a PostgreSQL that answers, its scenarios are skipped with a note.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from lugx.bench import reviews
from lugx.bench.server import BenchError

SEED_TIMEOUT_SECONDS = 1800
# Enough paid games that 16 players can buy two a journey for a minute at 200 journeys a second.
SHOP_GAMES = 30_000
POSTGRES_TCP_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
POSTGRES_SOCKET_DIR = Path("/var/run/postgresql")

Progress = Callable[[str], None]


class DataUnavailable(Exception):
    """The data set cannot be made here (no PostgreSQL): its scenarios are skipped."""


@dataclass(frozen=True)
class DataSet:
    data_dir: Path
    env: Mapping[str, str]  # LUGX_ settings a server on this data needs
    note: str


def prepare(
    kind: str,
    database: str | None,
    *,
    games: int,
    seed: int,
    root: Path,
    child_env: Callable[[dict[str, str]], dict[str, str]],
    say: Progress,
) -> DataSet:
    count = {"shop": SHOP_GAMES, "reviews": reviews.BENCH_GAMES}.get(kind, games)
    label = f"{kind}: {count:,} games (seed {seed})"
    name = f"{kind}-{count}-seed{seed}"
    extra: list[str] = []
    if kind == "reviews":
        extra = reviews.seed_argv()
        label = (
            f"{kind}: {count:,} games, game {reviews.BENCH_APP_ID} with "
            f"{reviews.BENCH_REVIEWS:,} reviews and {reviews.BENCH_VOTES:,} votes (seed {seed})"
        )
        name = f"reviews-{reviews.BENCH_REVIEWS}-{reviews.BENCH_VOTES}-seed{seed}"
    if database == "postgresql":
        data_dir = root / f"{name}-postgresql"
        admin, template = _fresh_postgres_at_first_that_answers(kind)
        env = {"LUGX_DATABASE_URL_TEMPLATE": template}
        seconds = _seed(count, seed, data_dir, child_env(env), say, extra)
        return DataSet(
            data_dir, env, f"{label} seeded into PostgreSQL {_where(admin)} in {seconds:.1f} s"
        )
    data_dir = root / name
    marker = data_dir / ".seeded"
    if marker.exists():
        return DataSet(data_dir, {}, f"{label} reused from {data_dir}")
    seconds = _seed(count, seed, data_dir, child_env({}), say, extra)
    marker.write_text(f"{count} {seed} {' '.join(extra)}".rstrip() + "\n")
    return DataSet(data_dir, {}, f"{label} seeded in {seconds:.1f} s")


def _seed(
    games: int,
    seed: int,
    data_dir: Path,
    env: dict[str, str],
    say: Progress,
    extra: list[str] | None = None,
) -> float:
    """`lugx seed --games N --seed S [extra...]` in a child process, its output in seed.log."""
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = ["seed", "--games", str(games), "--seed", str(seed), *(extra or [])]
    say(f"bench: seeding (lugx {' '.join(argv)}) into {data_dir.name}")
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "lugx.cli", *argv],
        env={**env, "LUGX_DATA_DIR": str(data_dir)},
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=SEED_TIMEOUT_SECONDS,
        check=False,
    )
    (data_dir / "seed.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise BenchError(f"lugx {' '.join(argv)} failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return time.perf_counter() - started


def postgres_admin_urls() -> list[str]:
    """Where the PostgreSQL scenarios may make their databases, in order: `LUGX_BENCH_POSTGRES_URL`
    alone, else this machine's server over its Unix socket when it has one (as a server on the
    same machine is best reached: a checkout journey's sixty round trips cost the server about a
    sixth less than over TCP loopback), then at 127.0.0.1:5432 (a socket may ask for
    another sign-in, peer authentication say, than TCP does)."""
    explicit = os.environ.get("LUGX_BENCH_POSTGRES_URL")
    if explicit:
        return [explicit]
    if (POSTGRES_SOCKET_DIR / ".s.PGSQL.5432").exists():
        return [
            f"postgresql+asyncpg://postgres@/postgres?host={POSTGRES_SOCKET_DIR}",
            POSTGRES_TCP_URL,
        ]
    return [POSTGRES_TCP_URL]


def _fresh_postgres_at_first_that_answers(kind: str) -> tuple[URL, str]:
    refusals = []
    for url in postgres_admin_urls():
        admin = make_url(url)
        try:
            return admin, _fresh_postgres(admin, kind)
        except DataUnavailable as exc:
            refusals.append(str(exc))
    raise DataUnavailable("; ".join(refusals))


def _host(admin: URL) -> str:
    return str(admin.query.get("host") or admin.host or "127.0.0.1")


def _where(admin: URL) -> str:
    host = _host(admin)
    return f"over its Unix socket in {host}" if host.startswith("/") else f"at {host}"


def database_template(admin: URL, kind: str) -> str:
    """The URL template of a data set's databases on the server `admin` names."""
    url = admin.set(database=f"lugx_bench_{kind}_SERVICE")
    return url.render_as_string(hide_password=False).replace("SERVICE", "{service}")


def _fresh_postgres(admin: URL, kind: str) -> str:
    """Drop and create this data set's databases; the URL template for them."""
    from lugx.services import SERVICE_MODULES

    names = {service: f"lugx_bench_{kind}_{service}" for service in SERVICE_MODULES}

    async def recreate() -> None:
        import asyncpg

        try:
            conn = await asyncpg.connect(
                host=_host(admin),
                port=admin.port or 5432,
                user=admin.username or "postgres",
                password=admin.password,
                database=admin.database or "postgres",
                timeout=5,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise DataUnavailable(f"no PostgreSQL {_where(admin)} ({exc})") from exc
        try:
            for name in names.values():
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())
    return database_template(admin, kind)
