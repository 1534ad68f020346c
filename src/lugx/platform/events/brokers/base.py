"""What `BrokerTransport` needs from each broker family."""

from __future__ import annotations

import os
import socket
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from lugx.platform.events.envelope import Event

# The FastStream subscriber callback: receives the broker message, raises NackMessage to retry.
MessageCallback = Callable[..., Awaitable[None]]


def instance_name() -> str:
    """Unique per process: names this process inside a consumer group (Redis Streams)."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class BrokerAdapter(ABC):
    """Names, declarations and acknowledgement details of one broker family."""

    broker: Any  # the FastStream broker

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        instance: str,
        redeliver_seconds: float,
        publish_timeout: float,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.instance = instance
        self.redeliver_seconds = redeliver_seconds
        self.publish_timeout = publish_timeout

    @abstractmethod
    def subscribe(self, consumer: str, types: Sequence[str], callback: MessageCallback) -> None:
        """Register `callback` for `types` under the durable consumer name `consumer`."""

    @abstractmethod
    async def publish(self, event: Event, body: bytes) -> None:
        """Return only once the broker has accepted (stored) the message."""

    async def start(self) -> None:
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()

    async def ping(self, timeout: float) -> bool:
        return bool(await self.broker.ping(timeout))

    def nack_options(self) -> dict[str, Any]:
        """Extra arguments for `message.nack(...)` when a handler failed."""
        return {}

    async def before_nack(self) -> None:  # noqa: B027 (optional hook, no-op by default)
        """Wait, where the broker itself cannot delay a redelivery."""
