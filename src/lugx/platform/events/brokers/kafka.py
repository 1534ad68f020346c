"""Kafka: one topic `<ns>.events.<Type>` per event type, keyed by the event key (one key's
events stay in one partition, in order); one consumer group per consumer. Offsets are committed
after the handler; a failed message is sought back to and read again after a pause. A new
group starts from the earliest retained offset, so it sees events published before it existed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.middlewares import AckPolicy

from lugx.platform.events.brokers.base import BrokerAdapter, MessageCallback
from lugx.platform.events.envelope import Event


class KafkaAdapter(BrokerAdapter):
    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        servers = url.split("://", 1)[-1].rstrip("/").split(",")
        self.broker = KafkaBroker(servers, log_level=logging.DEBUG)

    def topic(self, event_type: str) -> str:
        return f"{self.namespace}.events.{event_type}"

    def subscribe(self, consumer: str, types: Sequence[str], callback: MessageCallback) -> None:
        self.broker.subscriber(
            *(self.topic(t) for t in types),
            group_id=consumer,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
        )(callback)

    async def publish(self, event: Event, body: bytes) -> None:
        await self.broker.publish(
            body,
            topic=self.topic(event.type),
            key=event.key.encode(),
            headers={"lugx-event-type": event.type},
        )

    async def before_nack(self) -> None:
        # A nack seeks back to the message: without a pause it would be retried in a hot loop.
        await asyncio.sleep(self.redeliver_seconds)
