"""One OpenAPI document for the whole platform, merged from every service's own.

Paths never collide in practice (each service owns `/api/v1/<service>/`), but component names do:
every FastAPI app has its `HTTPValidationError`, and two services may both call a schema `Page`.
Identical components are shared; a name that means something different in a later service is
renamed `<service>__<Name>` and that service's `$ref`s are rewritten to match. A duplicated path
or operationId is kept from the first service and reported in the log.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import structlog

log = structlog.get_logger(__name__)

OpenApiSource = Callable[[], Awaitable[dict[str, Any] | None]]
_RETRY_SECONDS = 5.0
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def merge(
    documents: Mapping[str, dict[str, Any]], *, title: str, version: str, description: str = ""
) -> dict[str, Any]:
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": {},
        "components": {},
    }
    tags: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for service, document in documents.items():
        document = _without_collisions(service, document, merged["components"])
        for kind, entries in document.get("components", {}).items():
            merged["components"].setdefault(kind, {}).update(entries)
        for path, item in document.get("paths", {}).items():
            if path in merged["paths"]:
                log.warning("openapi path defined twice; keeping the first", path=path)
                continue
            merged["paths"][path] = _unique_operation_ids(service, item, operation_ids)
        for tag in document.get("tags", ()):
            tags.setdefault(tag["name"], tag)
    if tags:
        merged["tags"] = list(tags.values())
    if not merged["components"]:
        del merged["components"]
    return merged


def _without_collisions(
    service: str, document: dict[str, Any], taken: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The document with every component that clashes with an already merged one renamed.
    Renaming one component changes the components that point at it, which may make those clash
    in turn, so repeat until nothing new clashes."""
    renames: dict[str, str] = {}
    current = document
    while True:
        found = False
        for kind, entries in current.get("components", {}).items():
            existing = taken.get(kind, {})
            for name, value in entries.items():
                ref = f"#/components/{kind}/{name}"
                if ref in renames or name not in existing or existing[name] == value:
                    continue
                new_name = _free_name(f"{service}__{name}", existing, entries)
                renames[ref] = f"#/components/{kind}/{new_name}"
                found = True
        if not found:
            return current
        current = _renamed(document, renames)


def _free_name(wanted: str, *namespaces: Mapping[str, Any]) -> str:
    name, n = wanted, 1
    while any(name in ns for ns in namespaces):
        n += 1
        name = f"{wanted}{n}"
    return name


def _renamed(document: dict[str, Any], renames: Mapping[str, str]) -> dict[str, Any]:
    out = _rewrite_refs(document, renames)
    components = out.get("components")
    if isinstance(components, dict):
        for kind, entries in components.items():
            prefix = f"#/components/{kind}/"
            components[kind] = {
                renames.get(prefix + name, prefix + name).removeprefix(prefix): value
                for name, value in entries.items()
            }
    return out  # type: ignore[no-any-return]


def _rewrite_refs(node: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                renames.get(value, value)
                if key == "$ref" and isinstance(value, str)
                else _rewrite_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _unique_operation_ids(service: str, item: dict[str, Any], seen: set[str]) -> dict[str, Any]:
    item = dict(item)
    for method in _HTTP_METHODS:
        operation = item.get(method)
        if not isinstance(operation, dict) or "operationId" not in operation:
            continue
        operation_id = operation["operationId"]
        if operation_id in seen:
            operation = {**operation, "operationId": f"{service}__{operation_id}"}
            item[method] = operation
            log.warning("openapi operationId reused; prefixed", operation_id=operation_id)
        seen.add(operation["operationId"])
    return item


class OpenApiAggregator:
    """Serves the merged document as bytes. Embedded apps never change while running, so the
    merge happens once; fetched documents (distributed) are refreshed after `ttl_seconds`, and a
    service that cannot be reached is left out until a later refresh finds it."""

    def __init__(
        self,
        sources: Mapping[str, OpenApiSource],
        *,
        ttl_seconds: float | None,
        title: str = "Lugx API",
        version: str = "1.0",
    ) -> None:
        self._sources = dict(sources)
        self._ttl = ttl_seconds
        self._title = title
        self._version = version
        self._cached: bytes | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def document(self) -> bytes:
        if self._cached is not None and time.monotonic() < self._expires:
            return self._cached
        async with self._lock:
            if self._cached is None or time.monotonic() >= self._expires:
                self._cached, complete = await self._build()
                # A source that failed is retried soon, whatever the normal lifetime.
                ttl = self._ttl if complete else _RETRY_SECONDS
                self._expires = time.monotonic() + (math.inf if ttl is None else ttl)
            return self._cached

    async def _build(self) -> tuple[bytes, bool]:
        names = list(self._sources)
        results = await asyncio.gather(
            *(self._sources[name]() for name in names), return_exceptions=True
        )
        documents: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                missing.append(name)
                log.warning("openapi unavailable", service=name, error=type(result).__name__)
            elif result is not None:
                documents[name] = result
        merged = merge(
            documents,
            title=self._title,
            version=self._version,
            description="Every Lugx service behind one gateway.",
        )
        if missing:
            merged["x-lugx-unavailable"] = missing
        return orjson.dumps(merged), not missing
