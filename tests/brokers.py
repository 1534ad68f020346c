"""Cleaning up what a test run created on a real broker (each run uses its own namespace)."""

from __future__ import annotations

NATS_ANCHOR = "lugx-test-anchor"


async def remove_namespace(url: str, namespace: str, queues: list[str]) -> None:
    """Delete what a test run created on the broker."""
    kind = url.split("://", 1)[0]
    if kind == "nats":
        import nats

        client = await nats.connect(url)
        try:
            jetstream = client.jetstream()
            # NATS removes its streams directory when the last stream goes, and a stream being
            # created at that moment by another worker fails ("could not create storage
            # directory"). One stream that is never deleted keeps the directory there.
            await jetstream.add_stream(name=NATS_ANCHOR, subjects=[f"{NATS_ANCHOR}.>"])
            await jetstream.delete_stream(f"{namespace}-events")
        finally:
            await client.close()
    elif kind in ("redis", "rediss"):
        from redis.asyncio import Redis

        redis = Redis.from_url(url)
        try:
            keys = [key async for key in redis.scan_iter(match=f"{namespace}:events:*")]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()
    elif kind in ("amqp", "amqps"):
        import aio_pika

        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            for queue in queues:
                await channel.queue_delete(queue)
            await channel.exchange_delete(f"{namespace}.events")
        finally:
            await connection.close()
