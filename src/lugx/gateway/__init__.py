"""The gateway: the one public entry in front of every service (see app.py for its layers)."""

from lugx.gateway.app import create_gateway, distributed_gateway, embedded_app

__all__ = ["create_gateway", "distributed_gateway", "embedded_app"]
