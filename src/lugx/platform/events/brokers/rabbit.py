"""RabbitMQ: a durable topic exchange `<ns>.events`, routing key = event type, one durable
queue `<ns>.<consumer>.<Type>` per (consumer, type). Messages are persistent; a failed one is
requeued after a pause. RabbitMQ keeps no history: a consumer's queues receive events from the
first time it started, so start consumers before producers on a fresh broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue

from lugx.platform.events.brokers.base import BrokerAdapter, MessageCallback
from lugx.platform.events.envelope import Event


class RabbitAdapter(BrokerAdapter):
    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.broker = RabbitBroker(url, log_level=logging.DEBUG)
        self.exchange = RabbitExchange(
            f"{self.namespace}.events", type=ExchangeType.TOPIC, durable=True
        )

    def queue(self, consumer: str, event_type: str) -> RabbitQueue:
        return RabbitQueue(
            f"{self.namespace}.{consumer}.{event_type}", durable=True, routing_key=event_type
        )

    def subscribe(self, consumer: str, types: Sequence[str], callback: MessageCallback) -> None:
        for event_type in types:
            self.broker.subscriber(
                self.queue(consumer, event_type), self.exchange, ack_policy=AckPolicy.NACK_ON_ERROR
            )(callback)

    async def start(self) -> None:
        await self.broker.start()
        await self.broker.declare_exchange(self.exchange)  # also when this process only publishes

    async def publish(self, event: Event, body: bytes) -> None:
        await self.broker.publish(
            body,
            exchange=self.exchange,
            routing_key=event.type,
            persist=True,
            mandatory=False,  # an event nobody subscribes to is not an error
            message_id=str(event.id),
            headers={"lugx-event-type": event.type},
            timeout=self.publish_timeout,
        )

    def nack_options(self) -> dict[str, Any]:
        return {"requeue": True}

    async def before_nack(self) -> None:
        await asyncio.sleep(self.redeliver_seconds)
