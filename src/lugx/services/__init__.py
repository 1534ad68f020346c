"""The services of the platform. `available()` lists the ones that exist, in start order."""

from __future__ import annotations

from importlib import import_module

from lugx.platform.service import ServiceSpec

# Start order matters only for demo data: later services may read what earlier ones seeded.
SERVICE_MODULES: dict[str, str] = {
    "users": "lugx.services.users.app",
    "catalog": "lugx.services.catalog.app",
    "payments": "lugx.services.payments.app",
    "purchases": "lugx.services.purchases.app",
    "shopping": "lugx.services.shopping.app",
    "reviews": "lugx.services.reviews.app",
}


def spec_of(name: str) -> ServiceSpec:
    if name not in SERVICE_MODULES:
        known = ", ".join(SERVICE_MODULES)
        raise KeyError(f"unknown service {name!r}; this build has: {known}")
    spec: ServiceSpec = import_module(SERVICE_MODULES[name]).SPEC
    return spec


def available() -> list[ServiceSpec]:
    return [spec_of(name) for name in SERVICE_MODULES]
