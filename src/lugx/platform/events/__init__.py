"""The event kit: envelope, transactional outbox, relay, inbox, dead letters, transports.

A service publishes with `await bus.publish(session, "OrderPaid", key, payload)` inside its
request transaction and consumes with `@bus.on("OrderPaid")`. See docs/events.md.

`BrokerTransport` lives in `lugx.platform.events.broker` and is not imported here: it pulls in
FastStream, which the embedded wiring does not need (`make_transport` imports it on demand).
"""

from lugx.platform.events.bus import EventBus, start_buses, stop_buses
from lugx.platform.events.consumer import Consumer, DoneHere, Handler, SkipWhen
from lugx.platform.events.dead_letters import (
    DeadLetter,
    DeadLetterAlreadyReplayed,
    DeadLetterNotFound,
    ReplayFailed,
    list_dead_letters,
)
from lugx.platform.events.envelope import Event
from lugx.platform.events.inprocess import DeliveryError, InProcessTransport
from lugx.platform.events.outbox import publish
from lugx.platform.events.relay import OutboxRelay
from lugx.platform.events.tables import (
    EventTables,
    create_event_tables_op,
    drop_event_tables_op,
    event_tables,
)
from lugx.platform.events.transport import (
    EventHandler,
    Transport,
    TransportError,
    make_transport,
)

__all__ = [
    "Consumer",
    "DeadLetter",
    "DeadLetterAlreadyReplayed",
    "DeadLetterNotFound",
    "DeliveryError",
    "DoneHere",
    "Event",
    "EventBus",
    "EventHandler",
    "EventTables",
    "Handler",
    "InProcessTransport",
    "OutboxRelay",
    "ReplayFailed",
    "SkipWhen",
    "Transport",
    "TransportError",
    "create_event_tables_op",
    "drop_event_tables_op",
    "event_tables",
    "list_dead_letters",
    "make_transport",
    "publish",
    "start_buses",
    "stop_buses",
]
