"""Redis Streams: one stream `<ns>:events:<Type>` per event type, one consumer group per
consumer, one group member per process. Each (consumer, type) has two readers: one takes new
entries, the other claims entries left pending for `redeliver_seconds` (a failed handler, or a
process that died mid-message) so they are retried. Groups are created at the stream's start,
so a consumer that starts after events were published still receives them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from faststream.middlewares import AckPolicy
from faststream.redis import RedisBroker, StreamSub
from redis.exceptions import ResponseError

from lugx.platform.events.brokers.base import BrokerAdapter, MessageCallback
from lugx.platform.events.envelope import Event

MAX_ENTRIES_PER_TYPE = 1_000_000
POLL_MS = 100


class RedisAdapter(BrokerAdapter):
    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.broker = RedisBroker(url, log_level=logging.DEBUG)
        self._groups: list[tuple[str, str]] = []

    def stream(self, event_type: str) -> str:
        return f"{self.namespace}:events:{event_type}"

    def subscribe(self, consumer: str, types: Sequence[str], callback: MessageCallback) -> None:
        reclaim_ms = max(1, int(self.redeliver_seconds * 1000))
        for event_type in types:
            name = self.stream(event_type)
            self._groups.append((name, consumer))
            fresh = StreamSub(
                name, group=consumer, consumer=self.instance, polling_interval=POLL_MS
            )
            stale = StreamSub(
                name,
                group=consumer,
                consumer=self.instance,
                polling_interval=POLL_MS,
                min_idle_time=reclaim_ms,
            )
            for sub in (fresh, stale):
                self.broker.subscriber(stream=sub, ack_policy=AckPolicy.NACK_ON_ERROR)(callback)

    async def start(self) -> None:
        client = await self.broker.connect()
        for name, group in self._groups:
            try:  # from the stream's first entry, not only entries added from now on
                await client.xgroup_create(name=name, groupname=group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        await self.broker.start()

    async def publish(self, event: Event, body: bytes) -> None:
        await self.broker.publish(
            body,
            stream=self.stream(event.type),
            maxlen=MAX_ENTRIES_PER_TYPE,
            headers={"lugx-event-type": event.type},
        )
