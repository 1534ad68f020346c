"""`lugx`: start the platform, run one service, and the operator's chores.

    lugx up                        every service behind the gateway on one port (embedded wiring)
    lugx serve NAME                one service in its own process (`gateway` for the gateway)
    lugx migrate [SERVICE...]      bring databases to the latest schema
    lugx seed [--games|--reviews]  the demo data, or generated games and reviews (not in production)
    lugx users create-admin        the first administrator
    lugx users grant-role          give a user a role
    lugx keys generate             a new Ed25519 token signing key (PEM)
    lugx events ...                dead letters and undelivered events
    lugx bench                     throughput and latency against a hello-world baseline

Configuration comes from LUGX_... environment variables (see lugx/platform/settings.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from pydantic import ValidationError

from lugx import __version__
from lugx.platform.settings import SERVICE_PORTS, Settings

if TYPE_CHECKING:  # imported lazily: `lugx keys generate` should not load the whole platform
    from lugx.platform.service import ServiceRuntime
    from lugx.services.catalog.seed import CatalogData, LoadReport

T = TypeVar("T")

EXIT_FAILED = 1
EXIT_CONFIG = 2


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"lugx: {message}", err=True)
    sys.exit(code)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment; a configuration error is one clear line and exit code 2
    (production without its secrets refuses to start here)."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        _fail(_first_error(exc), EXIT_CONFIG)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error.get("msg", "invalid settings")).removeprefix("Value error, ")
    location = ".".join(str(part) for part in error.get("loc", ()))
    return f"{location}: {message}" if location else message


def _configure_logging(settings: Settings) -> None:
    from lugx.platform.observability import configure_logging

    configure_logging(settings.log_level, json=settings.log_json)


def run_server(app: Any, *, host: str, port: int) -> None:
    """How every Lugx process is served (and the benchmark serves its apps the same way): one
    uvicorn worker on uvloop and httptools when present, without uvicorn's own access log or
    logging setup (we log ourselves), and without its X-Forwarded-For handling (the gateway and
    the kit decide whom to believe, from LUGX_TRUSTED_PROXIES)."""
    import uvicorn

    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "auto",
        http="httptools" if importlib.util.find_spec("httptools") else "auto",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a domain error (bad input, not found...) is one line. What a
    one-shot command prints is its result: the services it starts log only warnings, and to
    stderr."""
    from lugx.platform.errors import LugxError
    from lugx.platform.observability import configure_logging

    configure_logging("WARNING", json=False, stream=sys.stderr)
    try:
        return asyncio.run(work)
    except LugxError as exc:
        _fail(exc.detail)
    except ValidationError as exc:
        _fail(_first_error(exc))
    except RuntimeError as exc:  # e.g. production settings without a needed secret
        _fail(str(exc), EXIT_CONFIG)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lugx")
def main() -> None:
    """Lugx, an open-source game store platform."""


# -- serving ---------------------------------------------------------------------------------


@main.command()
@click.option("--host", help="Interface to listen on [default: LUGX_HOST or 127.0.0.1]")
@click.option(
    "--port", type=click.IntRange(1, 65535), envvar="PORT", help="[default: PORT, LUGX_PORT, 8000]"
)
def up(host: str | None, port: int | None) -> None:
    """Start the whole platform in one process: every service behind the gateway.

    The first start creates the databases under LUGX_DATA_DIR and loads the demo data."""
    settings = load_settings(host=host, port=port)
    _configure_logging(settings)
    from lugx.gateway import embedded_app
    from lugx.web import create_web_app

    try:
        app = embedded_app(settings, front=create_web_app)
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc), EXIT_CONFIG)
    click.echo(
        f"Lugx is starting on http://{settings.host}:{settings.port} "
        f"(API docs at /docs, data in {settings.data_dir.resolve()})",
        err=True,
    )
    run_server(app, host=settings.host, port=settings.port)


@main.command()
@click.argument("name")
@click.option("--host", help="Interface to listen on [default: LUGX_HOST or 127.0.0.1]")
@click.option("--port", type=click.IntRange(1, 65535), help="[default: the service's own port]")
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Migrate at start.")
def serve(name: str, host: str | None, port: int | None, migrate: bool) -> None:
    """Run one service in its own process (distributed wiring); NAME `gateway` runs the gateway
    in front of the others."""
    settings = load_settings(host=host)
    _configure_logging(settings)
    port = port or SERVICE_PORTS.get(name)
    if port is None:
        _fail(f"no port is known for {name!r}; pass --port", EXIT_CONFIG)
    try:
        app = _service_app(settings, name, migrate=migrate)
    except KeyError as exc:
        _fail(str(exc.args[0]), EXIT_CONFIG)
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc), EXIT_CONFIG)
    run_server(app, host=settings.host, port=port)


def _service_app(settings: Settings, name: str, *, migrate: bool) -> Any:
    if name == "gateway":
        from lugx.gateway import distributed_gateway

        return distributed_gateway(settings)
    if name == "web":  # the store front: no database; the services over HTTP
        from lugx.web import web_process_app

        return web_process_app(settings)
    from lugx.gateway.app import freeze_startup_objects
    from lugx.platform.bootstrap import build_wiring
    from lugx.platform.service import ServiceRuntime, standalone_lifespan
    from lugx.services import spec_of

    spec = spec_of(name)
    wiring = build_wiring(settings, holds_signing_key=(name == "users"))
    runtime = ServiceRuntime(spec, wiring)
    started = standalone_lifespan(runtime, wiring, migrate=migrate, seed=settings.loads_demo_data)

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with started(app):
            freeze_startup_objects()
            yield

    runtime.app.router.lifespan_context = lifespan
    return runtime.app


# -- data ------------------------------------------------------------------------------------


def _service_names(names: Sequence[str]) -> list[str]:
    from lugx.services import SERVICE_MODULES

    unknown = [name for name in names if name not in SERVICE_MODULES]
    if unknown:
        _fail(f"unknown service {unknown[0]!r}; this build has: {', '.join(SERVICE_MODULES)}")
    return list(names) or list(SERVICE_MODULES)


@asynccontextmanager
async def service_context(
    settings: Settings, names: Sequence[str]
) -> AsyncIterator[dict[str, ServiceRuntime]]:
    """The named services without a server, for one operator command: built like `lugx up`
    builds them and migrated, but with no event relay, consumer or background loop running (a
    command that only lists dead letters must not start delivering events). What a command
    writes to an outbox is delivered by the service itself when it runs."""
    from lugx.platform.bootstrap import Platform
    from lugx.services import spec_of

    # In production an operator's shell need not hold the token signing key.
    holds_key = not settings.is_production or bool(
        settings.jwt_private_key or settings.jwt_private_key_file
    )
    platform = Platform(settings, [spec_of(name) for name in names], holds_signing_key=holds_key)
    try:
        for runtime in platform.runtimes.values():
            await runtime.prepare(migrate=True)
        yield platform.runtimes
    finally:
        for runtime in platform.runtimes.values():
            await runtime.close()
        await platform.wiring.close()


@main.command()
@click.argument("services", nargs=-1)
def migrate(services: tuple[str, ...]) -> None:
    """Migrate the databases of SERVICES (default: all) to their latest schema."""
    settings = load_settings()
    names = _service_names(services)

    async def work() -> None:
        async with service_context(settings, names) as runtimes:
            for name, runtime in runtimes.items():
                click.echo(f"{name}: migrated ({runtime.ctx.db.dialect})")

    _run(work())


@main.command()
@click.option(
    "--games",
    type=click.IntRange(1, 2_000_000),
    default=None,
    help="Give the catalog a generated load catalog of this many games (with their DLC, "
    "soundtracks and bundles) instead of its small demo one.",
)
@click.option(
    "--seed",
    "catalog_seed",
    type=int,
    default=42,
    show_default=True,
    help="Seed of the generated catalog: the same seed gives the same catalog.",
)
@click.option(
    "--replace",
    is_flag=True,
    help="With --games: empty the catalog first, publishers and tags too (else it must be).",
)
@click.option(
    "--reviews",
    type=click.IntRange(1, 10_000_000),
    default=None,
    help="Give one game (app 10, else the catalog's first) this many generated reviews, its "
    "earlier ones replaced: after --games, or alone on the catalog there is (a small generated "
    "one when it has no games).",
)
@click.option(
    "--votes",
    type=click.IntRange(0, 100_000_000),
    default=None,
    help="With --reviews: this many helpful and funny votes on them  [default: 10 a review]",
)
def seed(
    games: int | None,
    catalog_seed: int,
    replace: bool,
    reviews: int | None,
    votes: int | None,
) -> None:
    """Load the demo data into every service (migrating first). Refused in production.

    With --games N the catalog is loaded with a generated, believable catalog of N games
    (deterministic for a --seed), for trying the store at scale and for benchmarks. With
    --reviews N [--votes M] one game gets N reviews and M votes (the reviews benchmark)."""
    settings = load_settings()
    if settings.is_production:
        _fail("demo data is never loaded in production", EXIT_CONFIG)
    if replace and games is None:
        _fail("--replace goes with --games", EXIT_CONFIG)
    if votes is not None and reviews is None:
        _fail("--votes goes with --reviews", EXIT_CONFIG)
    settings = settings.model_copy(update={"demo_data": True})
    load = None if reviews is None else (reviews, 10 * reviews if votes is None else votes)
    if games is not None:
        _run(_seed_with_load_catalog(settings, games, catalog_seed, replace=replace, reviews=load))
        return
    if load is not None:
        _run(_seed_reviews_alone(settings, *load, catalog_seed))
        return

    async def work() -> None:
        from lugx.platform.bootstrap import Platform
        from lugx.services import available

        platform = Platform(settings, available())
        await platform.start(migrate=True, seed=True)
        await platform.stop()
        click.echo(f"demo data loaded into: {', '.join(platform.runtimes)}")

    _run(work())


async def _seed_with_load_catalog(
    settings: Settings,
    games: int,
    catalog_seed: int,
    *,
    replace: bool,
    reviews: tuple[int, int] | None = None,
) -> None:
    """Every service migrated and given its demo data, except the catalog: it gets the
    generated one (and, with `reviews`, one of its games that many reviews and votes)."""
    from lugx.services import SERVICE_MODULES

    if "catalog" not in SERVICE_MODULES:
        _fail("this build has no catalog service to load games into")
    async with service_context(settings, list(SERVICE_MODULES)) as runtimes:
        for name, runtime in runtimes.items():
            if name != "catalog":
                await runtime.seed_demo()
        others = [name for name in runtimes if name != "catalog"]
        if others:
            click.echo(f"demo data loaded into: {', '.join(others)}")
        await _load_catalog(runtimes["catalog"], games, catalog_seed, replace=replace)
        if reviews is not None:
            await _load_reviews(runtimes, *reviews, catalog_seed)


REVIEWS_CATALOG_GAMES = 200  # the catalog `lugx seed --reviews` makes when there is none


async def _seed_reviews_alone(
    settings: Settings, reviews: int, votes: int, catalog_seed: int
) -> None:
    """`lugx seed --reviews N` without --games: on the catalog there is, nothing else seeded."""
    from lugx.services import SERVICE_MODULES

    if "reviews" not in SERVICE_MODULES or "catalog" not in SERVICE_MODULES:
        _fail("this build has no reviews (or no catalog) service to load reviews into")
    async with service_context(settings, ["catalog", "reviews"]) as runtimes:
        await _load_reviews(runtimes, reviews, votes, catalog_seed)


async def _load_reviews(
    runtimes: dict[str, ServiceRuntime], reviews: int, votes: int, catalog_seed: int
) -> None:
    from lugx.services.reviews import seed as reviews_seed

    if "reviews" not in runtimes:
        _fail("this build has no reviews service to load reviews into")
    ctx = runtimes["reviews"].ctx
    app_id = await reviews_seed.bench_game(ctx)
    if app_id is None:  # no game to review: a small generated catalog first
        await _load_catalog(runtimes["catalog"], REVIEWS_CATALOG_GAMES, catalog_seed, replace=False)
        app_id = await reviews_seed.bench_game(ctx)
    if app_id is None:
        _fail("the catalog lists no game to load reviews into")
    load = reviews_seed.BenchLoad(app_id=app_id, reviews=reviews, votes=votes, seed=catalog_seed)
    click.echo(
        f"reviews: game {app_id}, {reviews:,} reviews and {votes:,} votes (seed {catalog_seed})",
        err=True,
    )
    with click.progressbar(
        length=reviews + votes, label="reviews: loading", file=sys.stderr, show_pos=True
    ) as bar:
        await reviews_seed.load_bench(ctx, load, progress=lambda _table, rows: bar.update(rows))
    seconds, rows = load.seconds, reviews + votes
    writing = seconds["reviews"] + seconds["votes"]
    rate = rows / max(writing, 1e-9)
    click.echo(
        "\n".join(
            [
                f"reviews: game {app_id}: {reviews:,} reviews, {votes:,} votes",
                f"  generate {seconds['generate']:6.1f} s",
                f"  insert   {writing:6.1f} s  {rows:,} rows, {rate:,.0f} rows/s"
                f" (reviews {seconds['reviews']:.1f} s, votes {seconds['votes']:.1f} s)",
                f"  analyze  {seconds['analyze']:6.1f} s",
                f"  total    {sum(seconds.values()):6.1f} s",
            ]
        )
    )


async def _load_catalog(
    runtime: ServiceRuntime, games: int, catalog_seed: int, *, replace: bool
) -> None:
    import time

    from lugx.services.catalog import seed as catalog

    ctx = runtime.ctx
    if replace:
        items, started = await catalog.count_games(ctx), time.perf_counter()
        await catalog.clear(ctx)
        click.echo(f"catalog: emptied ({items:,} items, {time.perf_counter() - started:.1f} s)")
    else:
        async with ctx.db.session(write=False) as session:
            if not await catalog.catalog_is_empty(session):
                _fail("the catalog already has games; pass --replace to empty it first")
    started = time.perf_counter()
    click.echo(f"catalog: generating {games:,} games (seed {catalog_seed})", err=True)
    data = catalog.generate(games, catalog_seed)
    generated = time.perf_counter() - started
    with click.progressbar(
        length=data.total_rows, label="catalog: loading", file=sys.stderr, show_pos=True
    ) as bar:
        report = await catalog.load(ctx, data, progress=lambda _table, rows: bar.update(rows))
    total = time.perf_counter() - started
    click.echo(_load_summary(data, report, generated, total))


def _load_summary(data: CatalogData, report: LoadReport, generated: float, total: float) -> str:
    kinds = {"game": 0, "dlc": 0, "soundtrack": 0, "bundle": 0}
    for game in data.games:
        kinds[game.type] += 1
    plural = {"game": "games", "dlc": "DLC", "soundtrack": "soundtracks", "bundle": "bundles"}
    items = ", ".join(
        f"{count:,} {plural[kind] if count != 1 else kind.replace('dlc', 'DLC')}"
        for kind, count in kinds.items()
    )
    rows, seconds = report.total_rows, report.insert_seconds
    index = report.index_seconds
    lines = [
        f"catalog: {items} ({data.counts()['publishers']:,} publishers; seed {data.seed})",
        f"  generate {generated:6.1f} s",
        f"  insert   {seconds:6.1f} s  {rows:,} rows, {rows / max(seconds, 1e-9):,.0f} rows/s",
        f"  index    {index:6.1f} s  search index rebuilt"
        if index is not None
        else "  index         -    no search index to rebuild in this build",
        f"  total    {total:6.1f} s",
    ]
    return "\n".join(lines)


# -- users -----------------------------------------------------------------------------------


@main.group()
def users() -> None:
    """Accounts an operator manages by hand."""


@users.command("create-admin")
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for when not given (keeps it out of the shell history).",
)
def create_admin(username: str, email: str, password: str) -> None:
    """Create an administrator account."""
    settings = load_settings()

    async def work() -> Any:
        from lugx.services.users import admin

        async with service_context(settings, ["users"]) as runtimes:
            return await admin.create_admin(
                runtimes["users"].ctx, username=username, email=email, password=password
            )

    user = _run(work())
    click.echo(f"created admin {user.username} (id {user.id}, account {user.account_id})")


@users.command("grant-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["player", "publisher", "admin"]))
def grant_role(username: str, role: str) -> None:
    """Give USERNAME (or e-mail) the ROLE."""
    settings = load_settings()

    async def work() -> Any:
        from lugx.services.users import admin

        async with service_context(settings, ["users"]) as runtimes:
            return await admin.grant_role(runtimes["users"].ctx, username, role)

    user = _run(work())
    click.echo(f"{user.username} now has the roles: {', '.join(sorted(user.roles))}")


# -- keys ------------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """Key material for production settings."""


@keys.command("generate")
def generate_key() -> None:
    """Print a new Ed25519 private key (PEM) for LUGX_JWT_PRIVATE_KEY."""
    from lugx.platform.auth.keys import generate_private_pem

    click.echo(generate_private_pem(), nl=False)


# -- events ----------------------------------------------------------------------------------


@main.group()
def events() -> None:
    """Dead letters and undelivered events of a service."""


def _events_command(service: str, action: Callable[[ServiceRuntime], Awaitable[str]]) -> None:
    settings = load_settings()
    name = _service_names([service])[0]

    async def work() -> str:
        async with service_context(settings, [name]) as runtimes:
            return await action(runtimes[name])

    click.echo(_run(work()))


@events.command("dead-letters")
@click.argument("service")
@click.option("--all", "include_replayed", is_flag=True, help="Include replayed ones.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
def dead_letters(service: str, include_replayed: bool, limit: int) -> None:
    """List the events SERVICE's handlers gave up on, newest first."""
    from lugx.platform.events.admin import format_dead_letters, list_dead_letters

    async def action(runtime: ServiceRuntime) -> str:
        letters = await list_dead_letters(
            runtime.ctx.db,
            runtime.spec.event_tables,
            include_replayed=include_replayed,
            limit=limit,
        )
        return format_dead_letters(letters)

    _events_command(service, action)


@events.command("replay")
@click.argument("service")
@click.argument("dead_letter_id")
def replay(service: str, dead_letter_id: str) -> None:
    """Run SERVICE's handler again on one dead letter."""
    from lugx.platform.events.admin import replay_dead_letter

    async def action(runtime: ServiceRuntime) -> str:
        letter = await replay_dead_letter(runtime.ctx.events.consumer, dead_letter_id)
        return f"replayed {letter.id} ({letter.type}, event {letter.event_id})"

    _events_command(service, action)


@events.command("undelivered")
@click.argument("service")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
def undelivered(service: str, limit: int) -> None:
    """List SERVICE's outbox events that have failed to be delivered."""
    from lugx.platform.events.admin import format_undelivered, list_undelivered

    async def action(runtime: ServiceRuntime) -> str:
        found = await list_undelivered(runtime.ctx.db, runtime.spec.event_tables, limit=limit)
        return format_undelivered(found)

    _events_command(service, action)


@events.command("requeue")
@click.argument("service")
@click.argument("event_id", required=False)
def requeue(service: str, event_id: str | None) -> None:
    """Give SERVICE's undelivered events (or one, EVENT_ID) a fresh set of attempts."""
    from lugx.platform.events.admin import requeue_undelivered

    async def action(runtime: ServiceRuntime) -> str:
        count = await requeue_undelivered(runtime.ctx.db, runtime.spec.event_tables, event_id)
        return f"requeued {count} event(s)"

    _events_command(service, action)


# -- benchmark -------------------------------------------------------------------------------


@main.command()
@click.option("--seconds", type=click.FloatRange(0.5), default=10.0, show_default=True)
@click.option("--warmup", type=click.FloatRange(0), default=3.0, show_default=True)
@click.option("--connections", type=click.IntRange(1, 10_000), default=32, show_default=True)
@click.option(
    "--rounds",
    type=click.IntRange(1, 20),
    default=1,
    show_default=True,
    help="Run every scenario this many times, alternating; report each one's median.",
)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="Run only these scenarios (repeatable; the baseline always runs).",
)
@click.option("--tool", type=click.Choice(["python", "wrk"]), default="python", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--keep-data", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option(
    "--games",
    type=click.IntRange(100, 2_000_000),
    default=100_000,
    show_default=True,
    help="Size of the generated catalog the catalog scenarios run on.",
)
def bench(
    seconds: float,
    warmup: float,
    connections: int,
    rounds: int,
    scenarios: tuple[str, ...],
    tool: str,
    as_json: bool,
    keep_data: Path | None,
    games: int,
) -> None:
    """Throughput, latency and memory of Lugx against a bare hello world, in one run."""
    from lugx.bench.runner import BenchOptions, render_json, render_table, run_bench
    from lugx.bench.server import BenchError

    options = BenchOptions(
        seconds=seconds,
        warmup=warmup,
        connections=connections,
        rounds=rounds,
        scenarios=scenarios,
        tool=tool,
        data_dir=keep_data,
        games=games,
    )
    try:
        report = run_bench(options, progress=None if as_json else _progress)
    except BenchError as exc:
        _fail(str(exc))
    click.echo(render_json(report) if as_json else render_table(report))


def _progress(message: str) -> None:
    click.echo(message, err=True)


if __name__ == "__main__":
    main()
