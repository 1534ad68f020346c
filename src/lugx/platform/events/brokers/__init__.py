"""One adapter per broker family behind `BrokerTransport`; each imports its FastStream module
lazily, so a process pays only for the broker it uses."""
