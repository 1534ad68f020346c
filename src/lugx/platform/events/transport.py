"""How events travel from a relay to consumers, and how a wiring picks the way.

Lifecycle (the wiring owns the transport, not the services):
1. every consumer `subscribe(...)`s: before `start()`, so a broker declares its streams, groups
   and queues before anything is published;
2. `await transport.start()`: once per process, by the wiring;
3. relays `publish(...)`; `ping()` answers readiness checks;
4. `await transport.stop()`: after every relay has stopped.

`publish` returns only once the event is safe: an in-process transport has run every matching
handler, a broker has confirmed it stored the message. If it raises, the relay retries later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, runtime_checkable

from lugx.platform.events.envelope import Event

EventHandler = Callable[[Event], Awaitable[None]]
Notify = Callable[[], None]


class TransportError(RuntimeError):
    """The transport cannot take the event now (not started, stopped, broker unreachable)."""


@runtime_checkable
class Transport(Protocol):
    def subscribe(self, consumer: str, types: Sequence[str], handler: EventHandler) -> None:
        """Deliver events of `types` to `handler`, as the durable consumer named `consumer`."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, event: Event) -> None: ...

    async def ping(self) -> None:
        """Raise if the transport cannot deliver right now (for `/readyz`)."""
        ...


def make_transport(broker_url: str | None, *, namespace: str = "lugx") -> Transport:
    """`None` (the embedded default): in-process delivery. Otherwise a broker chosen by the URL's
    scheme: `nats://`, `redis://` (or `rediss://`), `amqp://` (or `amqps://`), `kafka://`."""
    if not broker_url:
        from lugx.platform.events.inprocess import InProcessTransport

        return InProcessTransport()
    from lugx.platform.events.broker import BrokerTransport

    return BrokerTransport(broker_url, namespace=namespace)
