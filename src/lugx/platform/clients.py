"""Service-to-service calls. Every service's typed client derives from `ServiceClient`; the
`Clients` registry hands each one a caller that goes straight into the service's ASGI app in the
embedded wiring (asgi_calls.py) and an httpx client over HTTP (with timeouts) in the distributed
one. Same code either way.

The few calls a checkout makes many times (the catalog's sellables, purchases' ownership,
shopping's checkout and its settling, payments' charge) go one step further in the embedded
wiring: the client runs the callee's own operation, the function its internal route calls, with
the callee's context (`ServiceClient.local`), when a service calls as itself. Routing,
validation, the service-token check and JSON both ways cost about two thirds of such a call, and
none of them guard anything inside one process; the operation checks the limits its endpoint
declares. The answer is what the HTTP path gives; the callee's errors come as they were raised
(over HTTP, a status other than 401, 403, 404 and 409 is a plain LugxError), an unexpected one as
ServiceUnavailable. See docs/commerce.md."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

import httpx
import structlog
from starlette.types import ASGIApp

from lugx.platform.asgi_calls import AsgiCaller
from lugx.platform.auth.service_calls import SERVICE_HEADER
from lugx.platform.errors import (
    Conflict,
    Forbidden,
    LugxError,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from lugx.platform.observability import request_id_var
from lugx.platform.settings import Settings

if TYPE_CHECKING:
    from lugx.platform.service import ServiceContext

log = structlog.get_logger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

_ERRORS: dict[int, type[LugxError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


async def side_by_side(over_network: bool, *calls: Awaitable[Any]) -> list[Any]:
    """Await `calls`, together when any of them goes over the network (`over_network`), one
    after the other when they all run in this process: there they would take turns on the one
    loop anyway, and gathering them only adds a task per call (about 5 % of an embedded
    checkout journey)."""
    if over_network:
        return list(await asyncio.gather(*calls))
    done: list[Any] = []
    try:
        for call in calls:
            done.append(await call)
    finally:
        for left in calls[len(done) + 1 :]:  # after a failure: never started, closed quietly
            if inspect.iscoroutine(left):
                left.close()
    return done


class Caller(Protocol):
    """What a typed client sends its requests through: an `httpx.AsyncClient` to a service over
    HTTP, or an `AsgiCaller` into a service in this process."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response: ...

    async def aclose(self) -> None: ...


class ServiceClient:
    """Base of the typed clients: request ids forwarded, problem documents turned into errors,
    and, when made by a service (`ServiceContext.client`), that service's token on every call."""

    service: str = ""

    def __init__(
        self,
        http: Caller,
        *,
        service_token: Callable[[], str] | None = None,
        local: ServiceContext | None = None,
    ) -> None:
        self._http = http
        self._service_token = service_token
        # The callee's context when it runs in this process (the embedded wiring).
        self.local = local

    async def run_local(
        self,
        operation: Callable[Concatenate[ServiceContext, P], Awaitable[R]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run the callee's operation in this process (`self.local` is set). Its LugxErrors
        reach the caller as over HTTP; anything else is the callee failing, a
        ServiceUnavailable to the caller, as a 500 would be."""
        assert self.local is not None
        try:
            return await operation(self.local, *args, **kwargs)
        except LugxError:
            raise
        except Exception as exc:
            log.exception("in-process call failed", service=self.service)
            raise ServiceUnavailable(f"The {self.service} service failed") from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        request_id = request_id_var.get()
        if request_id:
            sent["x-request-id"] = request_id
        if token:
            sent["authorization"] = f"Bearer {token}"
        if self._service_token is not None:
            sent[SERVICE_HEADER] = self._service_token()
        try:
            response = await self._http.request(
                method, path, json=json, params=params, headers=sent
            )
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"The {self.service} service did not answer") from exc
        if response.status_code >= 400:
            raise self._error(response)
        return response

    def _error(self, response: httpx.Response) -> LugxError:
        detail = None
        errors = None  # field problems, kept so a form can show each next to its field
        code = None
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("detail"), str):
                detail = body["detail"]
            if isinstance(body, dict) and isinstance(body.get("errors"), list):
                errors = [e for e in body["errors"] if isinstance(e, dict)]
            if isinstance(body, dict) and isinstance(body.get("type"), str):
                code = body["type"].rsplit("/", 1)[-1] or None
        if response.status_code >= 500:
            return ServiceUnavailable(f"The {self.service} service failed")
        error = _ERRORS.get(response.status_code, LugxError)(detail, errors=errors, code=code)
        error.status = response.status_code
        return error


C = TypeVar("C", bound=ServiceClient)


class Clients:
    def __init__(self, settings: Settings, *, apps: dict[str, ASGIApp] | None = None) -> None:
        self._settings = settings
        self._apps = apps if apps is not None else {}
        self._contexts: dict[str, ServiceContext] = {}
        self._http: dict[str, httpx.AsyncClient] = {}
        self._callers: dict[str, Caller] = {}

    def mount(self, service: str, app: ASGIApp, ctx: ServiceContext | None = None) -> None:
        """Embedded wiring: calls to this service stay in the process; with its context, the
        hot ones run its operations directly (`ServiceClient.local`)."""
        self._apps[service] = app
        if ctx is not None:
            self._contexts[service] = ctx

    def in_process(self, *services: str) -> bool:
        """Whether calls to all these services stay in this process (the embedded wiring)."""
        return all(service in self._apps for service in services)

    def http(self, service: str) -> httpx.AsyncClient:
        """An httpx client of the service over HTTP (where it runs, from LUGX_SERVICE_URLS),
        with the upstream timeout. A service in this process is reached through `caller`."""
        client = self._http.get(service)
        if client is None:
            client = httpx.AsyncClient(
                base_url=self._settings.service_url(service),
                timeout=self._settings.upstream_timeout_seconds,
            )
            self._http[service] = client
        return client

    def caller(self, service: str) -> Caller:
        """What typed clients use: straight into the app when the service is in this process
        (asgi_calls.py), else the HTTP client."""
        caller = self._callers.get(service)
        if caller is None:
            app = self._apps.get(service)
            caller = AsgiCaller(app, service) if app is not None else self.http(service)
            self._callers[service] = caller
        return caller

    def get(self, client_type: type[C], *, service_token: Callable[[], str] | None = None) -> C:
        # In-process operations only for a service acting as itself: they skip the endpoint's
        # service-token check, which a client without a token would fail.
        local = self._contexts.get(client_type.service) if service_token is not None else None
        return client_type(
            self.caller(client_type.service), service_token=service_token, local=local
        )

    async def aclose(self) -> None:
        for client in self._http.values():
            await client.aclose()
        self._http.clear()
        self._callers.clear()
