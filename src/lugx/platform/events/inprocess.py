"""In-process delivery for the embedded wiring: every service in one process shares one instance.

`publish` runs the handler of every subscription to the event's type, concurrently, and returns
when all have finished. If any raised it raises too, so the relay keeps the event and retries it
later; the consumers that did succeed skip the retry through their inbox.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from lugx.platform.events.envelope import Event
from lugx.platform.events.transport import EventHandler, TransportError


@dataclass(frozen=True, slots=True)
class _Subscription:
    consumer: str
    types: frozenset[str]
    handler: EventHandler


class DeliveryError(TransportError):
    """Some consumers failed on an event; it stays in the outbox for another attempt."""

    def __init__(self, event: Event, failures: dict[str, BaseException]) -> None:
        self.event = event
        self.failures = failures
        details = "; ".join(
            f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures.items()
        )
        super().__init__(
            f"{event.type} {event.id} failed in {len(failures)} consumer(s): {details}"
        )


class InProcessTransport:
    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._running = False

    def subscribe(self, consumer: str, types: Sequence[str], handler: EventHandler) -> None:
        if self._running:
            # Events published before this call would never reach the new consumer.
            raise RuntimeError("subscribe before the transport starts")
        if any(s.consumer == consumer for s in self._subscriptions):
            raise ValueError(f"consumer {consumer!r} is already subscribed")
        self._subscriptions.append(_Subscription(consumer, frozenset(types), handler))

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False

    async def publish(self, event: Event) -> None:
        # Refusing before start matters: an event delivered before every consumer subscribed
        # would be lost for the late ones. The relay retries it once the wiring has started.
        if not self._running:
            raise TransportError("the in-process transport is not running")
        targets = [s for s in self._subscriptions if event.type in s.types]
        if not targets:
            return
        results = await asyncio.gather(*(s.handler(event) for s in targets), return_exceptions=True)
        failures = {
            s.consumer: result
            for s, result in zip(targets, results, strict=True)
            if isinstance(result, BaseException)
        }
        if failures:
            # A cancellation is not a consumer's fault: let it through as it is.
            for exc in failures.values():
                if not isinstance(exc, Exception):
                    raise exc
            raise DeliveryError(event, failures) from next(iter(failures.values()))

    async def ping(self) -> None:
        if not self._running:
            raise TransportError("the in-process transport is not running")
