"""What every page handler shares: the clients of the services the pages show, the token
verifier, the cookie codec, the templates and the short-lived cache of public data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from lugx.platform.auth import TokenVerifier
from lugx.platform.cache import Cache
from lugx.platform.money import Money
from lugx.platform.net import ClientAddress
from lugx.platform.settings import Settings
from lugx.services.catalog.client import CatalogClient
from lugx.services.purchases.client import PurchasesClient
from lugx.services.users.client import UsersClient
from lugx.web.cache import TtlCache
from lugx.web.clients import WebPayments, WebPurchases, WebReviews, WebShopping
from lugx.web.session import SessionCodec

HERE = Path(__file__).parent
SHELF_TTL_SECONDS = 15.0  # public data: a price or a new game shows within seconds

# Parts of the pages that belong to services still being built (issue 6, phase 2). A slot is
# rendered only once its service is registered in SERVICE_MODULES *and* its pages exist here.
PAGES_READY: frozenset[str] = frozenset({"shopping", "purchases", "reviews", "payments"})
SLOT_SERVICES = ("shopping", "purchases", "reviews", "payments")

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$"}
_NO_MINOR = frozenset({"JPY"})


def money(value: Money | None) -> str:
    if value is None:
        return ""
    if value.currency in _NO_MINOR:
        number = f"{value.amount:,}"
    else:
        number = f"{value.amount // 100:,}.{value.amount % 100:02d}"
    symbol = _SYMBOLS.get(value.currency)
    return f"{symbol}{number}" if symbol else f"{number} {value.currency}"


def price_label(value: Money | None) -> str:
    return "Free" if value is not None and value.amount == 0 else money(value)


def nice_date(value: date | datetime | None) -> str:
    return value.strftime("%-d %b %Y") if value is not None else ""


def iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else ""


def slot_features() -> dict[str, bool]:
    from lugx.services import SERVICE_MODULES

    return {
        name: name in SERVICE_MODULES
        and name in PAGES_READY
        and find_spec(f"lugx.services.{name}.client") is not None
        for name in SLOT_SERVICES
    }


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        # Every value is escaped; no template marks user data |safe.
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(money=money, price=price_label, nice_date=nice_date, iso=iso)
    return env


@dataclass
class WebContext:
    settings: Settings
    users: UsersClient
    catalog: CatalogClient
    tokens: TokenVerifier
    cache: Cache
    codec: SessionCodec
    client_address: ClientAddress
    templates: Environment
    public: TtlCache
    features: dict[str, bool]
    shopping: WebShopping
    purchases: WebPurchases
    payments: WebPayments
    reviews: WebReviews
    # Ownership asked of purchases' internal lookup with the web's service token, for the
    # player the web verified: one call for a game page, however big the library.
    ownership: PurchasesClient

    def render(self, name: str, **values: Any) -> str:
        return self.templates.get_template(name).render(slots=self.features, **values)
