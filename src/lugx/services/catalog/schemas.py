"""Request and response bodies of the catalog service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from lugx.platform.money import Money

GameType = Literal["game", "dlc", "soundtrack", "bundle"]
Platform = Literal["windows", "mac", "linux"]
Feature = Literal["single_player", "multiplayer", "co_op", "controller", "vr"]
Sort = Literal["relevance", "release_date", "price", "review_score", "top_sellers", "name"]
PriceBand = Literal["free", "under_5", "5_10", "10_20", "20_40", "over_40"]
Shelf = Literal["featured", "new-and-trending", "specials", "top-sellers", "coming-soon"]

MAX_PRICE = 100_000_00  # $100,000.00: anything above is a typo, not a game

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=60)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Url = Annotated[AnyHttpUrl, Field(max_length=2048)]
Language = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40)]

# The most app_ids one call for sellables takes: a full cart (shopping.service.MAX_CART_ITEMS)
# and then some. Part of the catalog's internal contract, so callers split longer asks.
SELLABLES_PER_CALL = 200


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SystemRequirements(Strict):
    minimum: dict[str, Annotated[str, StringConstraints(max_length=300)]] = Field(
        default_factory=dict, max_length=12
    )
    recommended: dict[str, Annotated[str, StringConstraints(max_length=300)]] = Field(
        default_factory=dict, max_length=12
    )


class ReviewSummary(BaseModel):
    total: int
    positive: int
    score: int | None = Field(description="Percent positive; null under 10 reviews")
    description: str | None
    recent_score: int | None = None
    recent_description: str | None = None


class GameManagers(BaseModel):
    """Internal: may this user act for the publisher of this game (given the publisher role)?"""

    app_id: int
    publisher_id: uuid.UUID
    member: bool


class PriceRead(BaseModel):
    """What the player pays now, computed on the server at the moment asked."""

    price: Money
    final_price: Money
    discount_percent: int
    discount_ends_at: datetime | None


class GameSummary(BaseModel):
    """One line of a list, a search result or a shelf."""

    app_id: int
    type: GameType
    title: str
    slug: str
    short_description: str
    price: Money
    final_price: Money
    discount_percent: int
    discount_ends_at: datetime | None
    is_free: bool
    review_summary: ReviewSummary
    header_image: str | None
    release_date: date | None
    coming_soon: bool
    platforms: list[Platform]
    publisher: str


class TagCount(BaseModel):
    slug: str
    name: str
    votes: int


class GenreRead(BaseModel):
    slug: str
    name: str


class DlcRef(BaseModel):
    app_id: int
    title: str
    final_price: Money


class BundleRead(BaseModel):
    app_id: int
    title: str
    items: list[int]
    bundle_discount_percent: int
    price: PriceRead = Field(description="'Complete the set': only the items still missing")


class GameDetail(GameSummary):
    id: uuid.UUID
    status: str
    long_description: str
    developers: list[str]
    publisher_slug: str
    early_access: bool
    age_rating: str | None
    features: list[Feature]
    supported_languages: list[str]
    screenshots: list[str]
    trailers: list[str]
    system_requirements: SystemRequirements
    genres: list[GenreRead]
    tags: list[TagCount] = Field(description="The top 20 tags by votes")
    base_game: int | None = Field(description="For DLC: the app_id of the game it extends")
    dlc: list[DlcRef]
    bundle_items: list[int] = Field(description="For bundles: the app_ids it contains")
    bundles: list[int] = Field(description="app_ids of the bundles that contain this item")
    bundle_discount_percent: int
    regional_prices: dict[str, int]
    published_at: datetime | None
    updated_at: datetime


class GameCreate(Strict):
    type: GameType = "game"
    title: Text200
    short_description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = ""
    long_description: Annotated[str, StringConstraints(max_length=20_000)] = ""
    developers: list[Name] = Field(default_factory=list, max_length=10)
    publisher: Slug | None = Field(
        default=None, description="Slug of the publishing organisation (yours if omitted)"
    )
    release_date: date | None = None
    coming_soon: bool = False
    early_access: bool = False
    age_rating: Annotated[str, StringConstraints(max_length=16)] | None = None
    platforms: list[Platform] = Field(default=["windows"], min_length=1)
    features: list[Feature] = Field(default=["single_player"])
    supported_languages: list[Language] = Field(default_factory=lambda: ["English"], max_length=40)
    genres: list[Slug] = Field(default_factory=list, max_length=6)
    tags: list[Slug] = Field(default_factory=list, max_length=20)
    header_image: Url | None = None
    screenshots: list[Url] = Field(default_factory=list, max_length=20)
    trailers: list[Url] = Field(default_factory=list, max_length=10)
    system_requirements: SystemRequirements = Field(default_factory=SystemRequirements)
    price: Money = Field(default_factory=lambda: Money(amount=0, currency="USD"))
    regional_prices: dict[Currency, Annotated[int, Field(ge=0, le=MAX_PRICE)]] = Field(
        default_factory=dict, max_length=40
    )
    base_game: int | None = Field(default=None, description="app_id of the base game (DLC)")
    bundle_items: list[int] = Field(default_factory=list, max_length=50)
    bundle_discount_percent: Annotated[int, Field(ge=0, le=90)] = 0

    @field_validator("price")
    @classmethod
    def _usd_base(cls, value: Money) -> Money:
        if value.currency != "USD":
            raise ValueError("the base price is in USD; use regional_prices for other currencies")
        if value.amount > MAX_PRICE:
            raise ValueError("the price is absurdly high")
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> GameCreate:
        if self.type == "dlc" and self.base_game is None:
            raise ValueError("a DLC needs base_game")
        if self.type != "dlc" and self.base_game is not None:
            raise ValueError("only a DLC has a base_game")
        if self.type == "bundle" and len(set(self.bundle_items)) < 2:
            raise ValueError("a bundle holds at least two different items")
        if self.type != "bundle" and self.bundle_items:
            raise ValueError("only a bundle has bundle_items")
        return self


class GameUpdate(Strict):
    title: Text200 | None = None
    short_description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None
    ) = None
    long_description: Annotated[str, StringConstraints(max_length=20_000)] | None = None
    developers: list[Name] | None = Field(default=None, max_length=10)
    release_date: date | None = None
    coming_soon: bool | None = None
    early_access: bool | None = None
    age_rating: Annotated[str, StringConstraints(max_length=16)] | None = None
    platforms: list[Platform] | None = Field(default=None, min_length=1)
    features: list[Feature] | None = None
    supported_languages: list[Language] | None = Field(default=None, max_length=40)
    genres: list[Slug] | None = Field(default=None, max_length=6)
    tags: list[Slug] | None = Field(default=None, max_length=20)
    header_image: Url | None = None
    screenshots: list[Url] | None = Field(default=None, max_length=20)
    trailers: list[Url] | None = Field(default=None, max_length=10)
    system_requirements: SystemRequirements | None = None
    price: Money | None = None
    regional_prices: dict[Currency, Annotated[int, Field(ge=0, le=MAX_PRICE)]] | None = None
    bundle_items: list[int] | None = Field(default=None, max_length=50)
    bundle_discount_percent: Annotated[int, Field(ge=0, le=90)] | None = None
    status: Literal["published", "unpublished"] | None = None

    @field_validator("price")
    @classmethod
    def _usd_base(cls, value: Money | None) -> Money | None:
        if value is not None and value.currency != "USD":
            raise ValueError("the base price is in USD; use regional_prices for other currencies")
        if value is not None and value.amount > MAX_PRICE:
            raise ValueError("the price is absurdly high")
        return value


class DiscountCreate(Strict):
    percent: Annotated[int, Field(ge=10, le=90)]
    starts_at: datetime
    ends_at: datetime

    @model_validator(mode="after")
    def _window(self) -> DiscountCreate:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("times need a time zone (RFC 3339)")
        if self.ends_at <= self.starts_at:
            raise ValueError("a discount must end after it starts")
        if (self.ends_at - self.starts_at).days > 90:
            raise ValueError("a discount lasts at most 90 days")
        return self


class DiscountRead(BaseModel):
    id: uuid.UUID
    app_id: int
    percent: int
    starts_at: datetime
    ends_at: datetime
    cancelled_at: datetime | None


class PublisherCreate(Strict):
    name: Name
    slug: Slug | None = None


class PublisherRead(BaseModel):
    id: uuid.UUID
    name: str
    slug: str


class SearchFacets(BaseModel):
    genres: dict[str, int]
    tags: dict[str, int]
    platforms: dict[str, int]
    price_bands: dict[str, int]


class SearchPage(BaseModel):
    items: list[GameSummary]
    next_cursor: str | None = None
    facets: SearchFacets | None = None
    total: int | None = Field(default=None, description="Matches, when facets are asked for")


class Suggestion(BaseModel):
    app_id: int
    title: str
    slug: str
    header_image: str | None
    final_price: Money


class SuggestPage(BaseModel):
    items: list[Suggestion]


class ShelfPage(BaseModel):
    shelf: str
    items: list[GameSummary]


JsonDict = dict[str, Any]


class Sellable(BaseModel):
    """Internal (shopping, purchases): what selling one item needs to know of it now. Prices are
    in USD, the store's base currency, by the rule of `GET /prices` (a bundle's are its own
    listing's: "complete the set" depends on who will own it, and is the caller's to work out
    from `bundle_items`)."""

    app_id: int
    type: GameType
    status: Literal["draft", "published", "unpublished"]
    title: str
    header_image: str | None
    price: Money
    final_price: Money
    discount_percent: int
    bundle_items: list[int] = Field(description="For bundles: the app_ids it holds, in order")
    bundle_discount_percent: int
