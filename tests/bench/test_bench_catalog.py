"""The catalog scenarios' pieces: rotating paths in the load generator and in wrk, the distinct
queries, the targets in the table, the once-per-run catalog, and skipping what is not built."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from lugx.bench import datasets, runner, scenarios
from lugx.bench.loadgen import LoadResult, Target, generate_load, job_to_json
from lugx.bench.runner import BenchOptions, BenchReport, Row, render_json, render_table
from lugx.bench.scenarios import (
    PLATFORMS,
    SCENARIOS,
    Request,
    catalog_games,
    search_queries,
    suggest_prefixes,
)
from lugx.bench.server import BenchError
from lugx.bench.wrk import lua_script

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_the_load_takes_the_paths_in_turn_across_connections() -> None:
    seen: Counter[str] = Counter()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                seen[head.split(b" ")[1].decode()] += 1
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    paths = ("/a?q=1", "/b?q=2", "/c?q=3", "/d?q=4", "/e?q=5")
    try:
        result = await generate_load(
            Target("127.0.0.1", port, path=paths[0], paths=paths), connections=3, seconds=0.3
        )
    finally:
        server.close()
        await server.wait_closed()
    assert result.requests > 50
    assert set(seen) == set(paths)
    assert max(seen.values()) - min(seen.values()) <= 1  # strictly in turn


def test_a_rotation_is_encoded_once_per_path_and_travels_in_the_job() -> None:
    target = Target("h", 1, paths=("/x", "/y"))
    assert target.encode_all() == [
        b"GET /x HTTP/1.1\r\nHost: h:1\r\n\r\n",
        b"GET /y HTTP/1.1\r\nHost: h:1\r\n\r\n",
    ]
    assert Target("h", 1, path="/z").encode_all() == [b"GET /z HTTP/1.1\r\nHost: h:1\r\n\r\n"]
    job = json.loads(job_to_json(target, connections=4, seconds=1, warmup=0))
    assert job["paths"] == ["/x", "/y"]


def test_wrk_takes_the_paths_in_turn_too() -> None:
    script = lua_script(Target("h", 1, paths=("/x?q=a", '/y?q="b"')))
    assert 'local paths = {"/x?q=a", "/y?q=\\"b\\""}' in script
    assert "wrk.format(nil, paths[turn])" in script
    assert "request" not in lua_script(Target("h", 1, path="/x"))


def test_searches_are_distinct_and_each_a_word_and_two_filters() -> None:
    words = [f"word{n}" for n in range(40)]
    genres = ["action", "rpg", "strategy", "puzzle"]
    queries = search_queries(words, genres, 300)
    assert len(queries) == len(set(queries)) == 300
    assert search_queries(words, genres, 300) == queries  # the same every run
    for query in queries:
        fields = parse_qs(query)
        assert set(fields) == {"q", "genre", "platform"}
        assert fields["q"][0] in words
        assert fields["genre"][0] in genres
        assert fields["platform"][0] in PLATFORMS
    with pytest.raises(BenchError, match="only 12 distinct"):
        search_queries(["one"], genres, 100)


def test_suggest_prefixes_are_what_a_player_types() -> None:
    titles = ["Hollow Realms", "Star Forge II", "Dungeon", "Hollow Knights of Dawn", ""]
    prefixes = suggest_prefixes(titles, 100)
    assert len(prefixes) == len(set(prefixes))
    for prefix in prefixes:
        assert len(prefix.strip()) >= 2
        assert any(title.lower().startswith(prefix) for title in titles)
    assert len(suggest_prefixes(titles * 50, 3)) == 3


async def test_games_are_picked_from_every_order_the_list_offers() -> None:
    """The list is paged in each order it accepts (refused sorts skipped) until enough games."""
    catalog = [{"app_id": n * 10, "title": f"Game {n}"} for n in range(1, 501)]
    orders = {"name": catalog, "price": catalog[::-1], "top_sellers": catalog[100:]}
    asked: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sort = request.url.params["sort"]
        if sort not in orders:
            return httpx.Response(422, json={"detail": "unknown sort"})
        limit = int(request.url.params["limit"])
        cursor = request.url.params.get("cursor")
        asked.append((sort, cursor))
        start = int(cursor or 0)
        items = orders[sort][start : start + limit]
        following = str(start + limit) if start + limit < len(orders[sort]) else None
        return httpx.Response(200, json={"items": items, "next_cursor": following})

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        games = await catalog_games(http, 300)
    ids = [game["app_id"] for game in games]
    assert len(ids) == len(set(ids)) == 300
    assert {sort for sort, _ in asked} == {"name", "price", "top_sellers"}
    assert {10, 5000, 1010} <= set(ids)  # the start of each order


@pytest.mark.parametrize(("read_seconds", "primed"), [(0.0, 40), (0.03, None)])
async def test_game_pages_are_read_once_before_the_load_within_a_time_limit(
    monkeypatch: pytest.MonkeyPatch, read_seconds: float, primed: int | None
) -> None:
    monkeypatch.setattr(scenarios, "PRIME_SECONDS", 0.2)
    catalog = [{"app_id": n * 10, "title": f"Game {n}"} for n in range(1, 41)]
    reads: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/catalog/games":
            return httpx.Response(200, json={"items": catalog, "next_cursor": None})
        reads.append(request.url.path)
        await asyncio.sleep(read_seconds)
        return httpx.Response(200, json={})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(handler), base_url="http://bench"
    ) as http:
        request = await scenarios.catalog_detail(http)
    assert sorted(request.paths) == sorted(f"/api/v1/catalog/games/{g['app_id']}" for g in catalog)
    assert reads == list(request.paths[: len(reads)])  # in the order the load takes them
    if primed is not None:
        assert len(reads) == primed
        assert request.note.startswith("40 cold reads first")
        assert "stopped" not in request.note
    else:
        assert 3 <= len(reads) < 40
        assert f"the other {40 - len(reads)} are first read under load" in request.note


def _load(rps: float, p99: float) -> LoadResult:
    return LoadResult(
        seconds=10,
        requests=int(rps * 10),
        errors=0,
        socket_errors=0,
        statuses={"200": int(rps * 10)},
        rps=rps,
        p50_ms=1.0,
        p90_ms=2.0,
        p99_ms=p99,
        max_ms=30.0,
    )


def test_the_table_shows_connections_targets_and_notes() -> None:
    by_name = {scenario.name: scenario for scenario in SCENARIOS}
    search, suggest = by_name["catalog-search"], by_name["catalog-suggest"]
    report = BenchReport(BenchOptions(), cpus=2, notes=["catalog: 100,000 games seeded in 40 s"])
    queries = tuple(f"/api/v1/catalog/games?q=w{n}&genre=rpg&platform=mac" for n in range(1000))
    report.rows = [
        Row(by_name["hello"], Request("GET", "/"), _load(20000, 3), {"peak_rss_mib": 44}, 1.0, 32),
        Row(
            search,
            Request("GET", queries[0], paths=queries),
            _load(350, 21.5),
            {"peak_rss_mib": 250},
            0.02,
            4,
        ),
        Row(
            suggest,
            Request("GET", "/api/v1/catalog/suggest?q=ho", note="prefixes from 2,000 titles"),
            _load(3000, 12.0),
            {"peak_rss_mib": 420},
            0.15,
            16,
            edge={"hit": 985, "not_modified": 5, "miss": 10},
        ),
    ]
    table = render_table(report)
    lines = table.splitlines()
    assert "conns" in next(line for line in lines if line.startswith("scenario"))
    assert next(line for line in lines if line.startswith("catalog-search")).split()[1] == "4"
    assert "edge hits" in next(line for line in lines if line.startswith("scenario"))
    assert "99.0%" in next(line for line in lines if line.startswith("catalog-suggest"))
    assert " - " in next(line for line in lines if line.startswith("catalog-search"))
    search_note = next(line for line in lines if "catalog-search targets" in line)
    assert ">= 300 req/s met (350)" in search_note
    assert "p99 <= 25 ms met (21.50 ms)" in search_note
    suggest_note = next(line for line in lines if "catalog-suggest targets" in line)
    assert "p99 <= 10 ms MISSED (12.00 ms)" in suggest_note
    assert "peak RSS <= 400 MiB MISSED (420 MiB)" in suggest_note
    assert "catalog-suggest: prefixes from 2,000 titles" in table
    assert "catalog: 100,000 games seeded in 40 s" in table
    document = json.loads(render_json(report))
    row = document["results"][1]
    assert row["distinct_paths"] == 1000
    assert row["connections"] == 4
    assert {"target": ">= 300 req/s", "measured": "350", "met": True} in row["targets"]
    assert document["results"][2]["edge_cache"] == {"hit": 985, "not_modified": 5, "miss": 10}


def test_edge_cache_lookups_are_read_from_the_servers_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics = (
        "# HELP lugx_edge_cache_lookups_total Anonymous GET/HEAD requests\n"
        "# TYPE lugx_edge_cache_lookups_total counter\n"
        'lugx_edge_cache_lookups_total{result="hit"} 1234.0\n'
        'lugx_edge_cache_lookups_total{result="miss"} 7.0\n'
        'lugx_edge_cache_lookups_created{result="hit"} 1.7e+09\n'
    )
    answers = {"/metrics": httpx.Response(200, text=metrics)}
    monkeypatch.setattr(
        runner.httpx, "get", lambda url, **_: answers.get(httpx.URL(url).path, httpx.Response(404))
    )
    assert runner.edge_lookups("http://127.0.0.1:1") == {"hit": 1234, "miss": 7}
    answers.clear()
    assert runner.edge_lookups("http://127.0.0.1:1") == {}  # a server without an edge cache


def test_catalog_scenarios_are_skipped_when_the_catalog_is_not_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("lugx.services.SERVICE_MODULES", {"users": "lugx.services.users.app"})
    chosen, skipped = runner._selected(())
    assert [s.name for s in chosen] == ["hello", "users-me"]
    assert {s.name for s in skipped} == {
        "catalog-detail",
        "catalog-search",
        "catalog-suggest",
        "checkout",
        "checkout-postgres",
        "reviews-helpful",
        "reviews-summary",
    }
    with pytest.raises(BenchError, match="needs the catalog service"):
        runner._selected(("catalog-search",))


def prepare_catalog(root: Path, *, games: int, seed: int) -> datasets.DataSet:
    return datasets.prepare(
        "catalog",
        None,
        games=games,
        seed=seed,
        root=root,
        child_env=lambda extra: dict(extra),
        say=lambda _message: None,
    )


def test_the_catalog_is_seeded_once_and_a_kept_one_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> Any:
        calls.append(command)
        assert kwargs["env"]["LUGX_DATA_DIR"].startswith(str(tmp_path))
        return type("Done", (), {"returncode": 0, "stdout": "seeded\n", "stderr": ""})()

    monkeypatch.setattr(datasets.subprocess, "run", fake_run)
    first = prepare_catalog(tmp_path, games=5000, seed=7)
    assert calls[0][-5:] == ["seed", "--games", "5000", "--seed", "7"]
    assert "5,000 games (seed 7) seeded in" in first.note
    again = prepare_catalog(tmp_path, games=5000, seed=7)
    assert again.data_dir == first.data_dir
    assert len(calls) == 1
    assert "reused" in again.note


def test_a_failed_seeding_stops_the_bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(command: list[str], **kwargs: Any) -> Any:
        return type("Done", (), {"returncode": 2, "stdout": "", "stderr": "no such option"})()

    monkeypatch.setattr(datasets.subprocess, "run", failing)
    with pytest.raises(BenchError, match="no such option"):
        prepare_catalog(tmp_path, games=10, seed=42)
    assert not (tmp_path / "catalog-10-seed42" / ".seeded").exists()


def test_postgresql_is_reached_over_its_local_socket_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LUGX_BENCH_POSTGRES_URL", raising=False)
    monkeypatch.setattr(datasets, "POSTGRES_SOCKET_DIR", tmp_path)
    assert datasets.postgres_admin_urls() == [datasets.POSTGRES_TCP_URL]
    (tmp_path / ".s.PGSQL.5432").touch()
    socket_url, tcp_url = datasets.postgres_admin_urls()
    assert socket_url == f"postgresql+asyncpg://postgres@/postgres?host={tmp_path}"
    assert tcp_url == datasets.POSTGRES_TCP_URL  # if the socket refuses the sign-in
    template = datasets.database_template(datasets.make_url(socket_url), "shop")
    purchases = datasets.make_url(template.format(service="purchases"))
    assert (purchases.database, purchases.host) == ("lugx_bench_shop_purchases", None)
    assert purchases.query["host"] == str(tmp_path)
    monkeypatch.setenv("LUGX_BENCH_POSTGRES_URL", "postgresql+asyncpg://u:p@db:6543/postgres")
    (explicit,) = datasets.postgres_admin_urls()
    assert datasets.database_template(datasets.make_url(explicit), "shop").format(
        service="users"
    ) == ("postgresql+asyncpg://u:p@db:6543/lugx_bench_shop_users")


def test_a_socket_that_refuses_falls_back_to_tcp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LUGX_BENCH_POSTGRES_URL", raising=False)
    monkeypatch.setattr(datasets, "POSTGRES_SOCKET_DIR", tmp_path)
    (tmp_path / ".s.PGSQL.5432").touch()
    tried: list[str | None] = []

    def fresh(admin: Any, kind: str) -> str:
        tried.append(admin.host)
        if admin.host is None:
            raise datasets.DataUnavailable("peer authentication failed")
        return datasets.database_template(admin, kind)

    monkeypatch.setattr(datasets, "_fresh_postgres", fresh)
    admin, template = datasets._fresh_postgres_at_first_that_answers("shop")
    assert tried == [None, "127.0.0.1"]
    assert admin.host == "127.0.0.1"
    assert template.endswith("127.0.0.1:5432/lugx_bench_shop_{service}")


def test_players_out_of_games_are_warned_about() -> None:
    by_name = {scenario.name: scenario for scenario in SCENARIOS}
    report = BenchReport(BenchOptions(), cpus=2)
    load = _load(200, 120.0)
    load.statuses["out-of-games"] = 3
    report.rows = [
        Row(by_name["hello"], Request("GET", "/"), _load(20000, 3), {"peak_rss_mib": 44}, 1.0, 32),
        Row(by_name["checkout"], Request("POST", "/c", flow="checkout"), load, {}, 0.01, 16),
    ]
    table = render_table(report)
    assert "warning: 3 of checkout's players bought every game they were given" in table
    assert table.count("warning:") == 1
