"""Load made of whole journeys rather than one request: `python -m lugx.bench.flows` reads a job
(JSON on stdin), runs `connections` players at once, each repeating its flow (several requests
in order) for `warmup` + `seconds`, and prints a `LoadResult` whose "requests" are completed
flows and whose latencies are each flow's, first request to last.

A flow is an async function (http, state, player, iteration) -> None that raises on any answer
it did not expect; a raised flow counts as an error, not as a completed one. `state` is what the
scenario's setup prepared (accounts, games), the same for every player. Each player has its own
keep-alive connection (player.PlayerClient), as a browser or a game client would.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from lugx.bench.loadgen import RECONNECT_DELAY_SECONDS, LoadResult
from lugx.bench.player import PlayerClient, Reply

Flow = Callable[[PlayerClient, dict[str, Any], int, int], Awaitable[None]]

CART = "/api/v1/shopping/cart/items"
CHECKOUT = "/api/v1/purchases/checkout"
LIBRARY = "/api/v1/purchases/library"
# The sandbox's card that always succeeds, valid for a few years from now.
SANDBOX_CARD = {
    "number": "4242424242424242",
    "exp_month": 12,
    "exp_year": date.today().year + 3,
    "cvc": "123",
}


OUT_OF_GAMES = "out-of-games"


class OutOfGames(Exception):
    """The player has bought every game it was given: it stops (buying one again would only
    measure the refusal)."""


class FlowFailed(Exception):
    def __init__(self, step: str, response: Reply) -> None:
        super().__init__(f"{step}: {response.status_code} {response.text[:200]}")
        self.status = response.status_code


def _ok(step: str, response: Reply) -> Reply:
    if not response.is_success:
        raise FlowFailed(step, response)
    return response


async def checkout(http: PlayerClient, state: dict[str, Any], player: int, n: int) -> None:
    """Two games into the cart, a card checkout, the library: a purchase from end to end.
    Each player buys games no other player is given, two new ones each time."""
    headers = state["players"][player]
    games: list[int] = state["games"][player]
    if 2 * n + 1 >= len(games):
        raise OutOfGames
    first, second = games[2 * n], games[2 * n + 1]
    for app_id in (first, second):
        _ok("add to cart", await http.post(CART, json={"app_id": app_id}, headers=headers))
    body = {"payment_method": "card", "card": SANDBOX_CARD}
    paid = await http.post(
        CHECKOUT, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    )
    order = _ok("checkout", paid).json()
    if order.get("status") not in ("paid", "completed"):
        raise FlowFailed("checkout", paid)
    _ok("library", await http.get(LIBRARY, headers=headers, params={"limit": 5}))


FLOWS: dict[str, Flow] = {"checkout": checkout}


@dataclass
class FlowJob:
    base_url: str
    flow: str
    state: dict[str, Any]
    connections: int
    seconds: float
    warmup: float


async def run_flows(job: FlowJob) -> LoadResult:
    flow = FLOWS[job.flow]
    latencies = array("d")
    statuses: dict[str, int] = {}
    started = time.perf_counter()
    cpu_started = time.process_time()
    measure_from, stop_at = started + job.warmup, started + job.warmup + job.seconds

    async def player(index: int) -> None:
        http = PlayerClient(job.base_url)
        iteration = 0
        while (now := time.perf_counter()) < stop_at:
            try:
                await flow(http, job.state, index, iteration)
                outcome = "200"
            except OutOfGames:
                statuses[OUT_OF_GAMES] = statuses.get(OUT_OF_GAMES, 0) + 1
                break
            except FlowFailed as exc:
                outcome = str(exc.status)
            except OSError:  # ConnectionClosed among them; the next request connects again
                outcome = "socket"
                await asyncio.sleep(RECONNECT_DELAY_SECONDS)
            iteration += 1
            done = time.perf_counter()
            if now >= measure_from and done <= stop_at:
                statuses[outcome] = statuses.get(outcome, 0) + 1
                if outcome == "200":
                    latencies.append(done - now)
        http.close()

    await asyncio.gather(*(player(i) for i in range(job.connections)))
    wall = time.perf_counter() - started
    ranked = sorted(latencies)

    def quantile(q: float) -> float:
        return round(ranked[min(len(ranked) - 1, int(q * len(ranked)))] * 1000, 3) if ranked else 0

    return LoadResult(
        seconds=job.seconds,
        requests=len(ranked),
        errors=sum(
            n for status, n in statuses.items() if status not in ("200", "socket", OUT_OF_GAMES)
        ),
        socket_errors=statuses.get("socket", 0),
        statuses=dict(sorted(statuses.items())),
        rps=round(len(ranked) / job.seconds, 1),
        p50_ms=quantile(0.50),
        p90_ms=quantile(0.90),
        p99_ms=quantile(0.99),
        max_ms=round(ranked[-1] * 1000, 3) if ranked else 0.0,
        client_cpu=round((time.process_time() - cpu_started) / wall, 2),
    )


def _main() -> None:
    job = FlowJob(**json.loads(sys.stdin.read()))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run_flows(job))
    else:
        result = uvloop.run(run_flows(job))
    sys.stdout.write(json.dumps(asdict(result)))


if __name__ == "__main__":
    _main()
