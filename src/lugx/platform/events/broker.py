"""Delivery through a message broker (the distributed wiring), with FastStream.

The broker is chosen by the URL's scheme:

| scheme | broker | consumers |
|---|---|---|
| `nats://` | NATS JetStream | stream `<ns>-events`, a durable pull consumer per (consumer, type) |
| `redis://`, `rediss://` | Redis Streams | a stream per type, a consumer group per consumer |
| `amqp://`, `amqps://` | RabbitMQ | a topic exchange, a durable queue per (consumer, type) |
| `kafka://host:9092[,host:9092]` | Kafka | a topic per type, a consumer group per consumer |

`namespace` (default `lugx`) prefixes every stream, subject, topic and queue, so two
installations (or test runs) can share one broker without seeing each other's events.

Delivery is at least once. A handler that raises is negatively acknowledged and the broker
redelivers after about `redeliver_seconds`; the consumer's inbox counts attempts and, at its
limit, dead-letters the event and acknowledges it. (On Redis, `redeliver_seconds` is also how
long a message may stay unacknowledged before another reader claims it: keep it above the
slowest handler's run time.) A message that is not a valid envelope is logged and
acknowledged: no retry could ever handle it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import urlsplit

import structlog
from faststream import Context, StreamMessage
from faststream.exceptions import NackMessage

from lugx.platform.events.brokers.base import BrokerAdapter, MessageCallback, instance_name
from lugx.platform.events.envelope import Event
from lugx.platform.events.transport import EventHandler, TransportError

log = structlog.get_logger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _adapter_class(scheme: str) -> type[BrokerAdapter]:
    if scheme == "nats":
        from lugx.platform.events.brokers.nats import NatsAdapter

        return NatsAdapter
    if scheme in ("redis", "rediss"):
        from lugx.platform.events.brokers.redis import RedisAdapter

        return RedisAdapter
    if scheme in ("amqp", "amqps"):
        from lugx.platform.events.brokers.rabbit import RabbitAdapter

        return RabbitAdapter
    if scheme == "kafka":
        from lugx.platform.events.brokers.kafka import KafkaAdapter

        return KafkaAdapter
    raise ValueError(
        f"unsupported broker URL scheme {scheme!r}: use nats://, redis://, amqp:// or kafka://"
    )


class BrokerTransport:
    def __init__(
        self,
        url: str,
        *,
        namespace: str = "lugx",
        instance: str | None = None,
        redeliver_seconds: float = 5.0,
        publish_timeout: float = 10.0,
    ) -> None:
        if not _NAME.match(namespace):
            raise ValueError("namespace must be 1-64 letters, digits, '-' or '_'")
        self.kind = urlsplit(url).scheme
        self.namespace = namespace
        self.publish_timeout = publish_timeout
        self._adapter = _adapter_class(self.kind)(
            url,
            namespace=namespace,
            instance=instance or instance_name(),
            redeliver_seconds=redeliver_seconds,
            publish_timeout=publish_timeout,
        )
        self._running = False
        self._consumers: set[str] = set()

    @property
    def broker(self) -> Any:
        """The FastStream broker underneath (for FastStream's test brokers and diagnostics)."""
        return self._adapter.broker

    def subscribe(self, consumer: str, types: Sequence[str], handler: EventHandler) -> None:
        if self._running:
            raise RuntimeError("subscribe before the transport starts")
        if not _NAME.match(consumer):
            raise ValueError("a consumer name is 1-64 letters, digits, '-' or '_'")
        if consumer in self._consumers:
            raise ValueError(f"consumer {consumer!r} is already subscribed")
        self._consumers.add(consumer)
        if types:
            self._adapter.subscribe(consumer, list(types), self._callback(consumer, handler))

    async def start(self) -> None:
        await self._adapter.start()
        self._running = True

    async def stop(self) -> None:
        self._running = False
        await self._adapter.stop()

    async def publish(self, event: Event) -> None:
        if not self._running:
            raise TransportError(f"the {self.kind} transport is not running")
        await asyncio.wait_for(
            self._adapter.publish(event, event.to_json()), timeout=self.publish_timeout
        )

    async def ping(self) -> None:
        if not self._running or not await self._adapter.ping(timeout=2.0):
            raise TransportError(f"the {self.kind} broker is not reachable")

    def _callback(self, consumer: str, handler: EventHandler) -> MessageCallback:
        adapter = self._adapter

        async def on_message(message: Annotated[StreamMessage[Any], Context("message")]) -> None:
            try:
                event = Event.from_json(message.body)
            except ValueError as exc:
                log.error(
                    "dropping a broker message that is not an event envelope",
                    consumer=consumer,
                    error=str(exc)[:500],
                    body=bytes(message.body[:200]).decode(errors="replace"),
                )
                return
            try:
                await handler(event)
            except Exception as exc:
                log.warning(
                    "event handling failed; the broker will redeliver",
                    consumer=consumer,
                    event_id=str(event.id),
                    event_type=event.type,
                    error=f"{type(exc).__name__}: {exc}",
                )
                await adapter.before_nack()
                raise NackMessage(**adapter.nack_options()) from exc

        return on_message
