"""NATS JetStream: one stream `<ns>-events` over `<ns>.events.>`, one subject per event type,
one durable pull consumer per (consumer, type). A failed message is nacked with a delay and
JetStream redelivers it; a crashed consumer's unacked messages come back after `ack_wait`.
Publishing waits for JetStream's ack, and `Nats-Msg-Id` = event id lets JetStream drop the
duplicate when a relay publishes an event twice within the duplicate window."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, DeliverPolicy, JStream, NatsBroker, PullSub
from faststream.nats import StreamConfig as NatsStreamConfig
from nats.js.errors import BadRequestError

from lugx.platform.events.brokers.base import BrokerAdapter, MessageCallback
from lugx.platform.events.envelope import Event

RETENTION_SECONDS = 7 * 24 * 3600.0
DUPLICATE_WINDOW_SECONDS = 120.0
ACK_WAIT_SECONDS = 30.0


class NatsAdapter(BrokerAdapter):
    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.stream_name = f"{self.namespace}-events"
        self.subject_prefix = f"{self.namespace}.events"
        self.broker = NatsBroker(servers=url.split(","), log_level=logging.DEBUG)
        # Declared by `_ensure_stream`, also when this process only publishes.
        self.stream = JStream(
            name=self.stream_name, subjects=[f"{self.subject_prefix}.>"], declare=False
        )

    def subject(self, event_type: str) -> str:
        return f"{self.subject_prefix}.{event_type}"

    def subscribe(self, consumer: str, types: Sequence[str], callback: MessageCallback) -> None:
        for event_type in types:
            self.broker.subscriber(
                self.subject(event_type),
                stream=self.stream,
                durable=f"{consumer}-{event_type}",
                pull_sub=PullSub(batch_size=16, timeout=5.0),
                config=ConsumerConfig(
                    ack_wait=ACK_WAIT_SECONDS, deliver_policy=DeliverPolicy.ALL, max_deliver=-1
                ),
                ack_policy=AckPolicy.NACK_ON_ERROR,
            )(callback)

    async def start(self) -> None:
        await self.broker.connect()
        await self._ensure_stream()
        await self.broker.start()

    async def _ensure_stream(self) -> None:
        jetstream = self.broker.connection.jetstream()
        config = NatsStreamConfig(
            name=self.stream_name,
            subjects=[f"{self.subject_prefix}.>"],
            max_age=RETENTION_SECONDS,
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )
        try:
            await jetstream.add_stream(config)
        except BadRequestError:  # exists with another configuration: bring it to ours
            await jetstream.update_stream(config)

    async def publish(self, event: Event, body: bytes) -> None:
        await self.broker.publish(
            body,
            subject=self.subject(event.type),
            stream=self.stream_name,
            headers={"Nats-Msg-Id": str(event.id), "lugx-event-type": event.type},
            timeout=self.publish_timeout,
        )

    def nack_options(self) -> dict[str, Any]:
        return {"delay": self.redeliver_seconds}
