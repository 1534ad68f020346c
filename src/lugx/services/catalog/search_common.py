"""What the two search indexes (search_sqlite.py, search_postgres.py) write and run alike: their
match expressions differ only in quoting, operators and how facet words are marked, so both are
built here from a `QuerySyntax`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Executable, Result
from sqlalchemy.ext.asyncio import AsyncSession

from lugx.services.catalog.models import FEATURES, PLATFORMS
from lugx.services.catalog.search import Filters, Hit, Term


def slug_token(kind: str, slug: str) -> str:
    """A genre's (`g`) or tag's (`t`) facet word: slugs have hyphens, which both indexes would
    split on, so the slug is written in hex."""
    return kind + slug.encode().hex()


@dataclass(frozen=True)
class QuerySyntax:
    """How an index's query language writes our expressions (only quoted words of our own:
    nothing typed is syntax)."""

    quote: Callable[[str], str]
    any_of: str  # the OR operator, with its spaces
    all_of: str  # the AND operator, with its spaces
    facet_mark: str = ""  # what facet words start with

    def all_words(self, terms: Sequence[Term], suffix: str) -> str:
        """Every term, each as any of its words (`suffix`: the prefix-match marker, if any)."""
        groups = []
        for term in terms:
            options = [self.quote(word) + suffix for word in term.words]
            groups.append(options[0] if len(options) == 1 else self._any(options))
        return self.all_of.join(groups)

    def facets(self, filters: Filters) -> str | None:
        """The taxonomy filters as facet words: all the genres, tags and features; any of the
        platforms, any of the types (None: no such filter)."""
        mark = self.facet_mark
        required = [mark + slug_token("g", slug) for slug in filters.genres]
        required += [mark + slug_token("t", slug) for slug in filters.tags]
        required += [f"{mark}f{bit}" for bit in FEATURES.values() if filters.features_mask & bit]
        groups = [self.quote(token) for token in required]
        platforms = [f"{mark}p{bit}" for bit in PLATFORMS.values() if filters.platforms_mask & bit]
        types = [f"{mark}k{name}" for name in filters.types]
        for options in (platforms, types):
            if options:
                groups.append(self._any(self.quote(token) for token in options))
        return self.all_of.join(groups) if groups else None

    def both(self, *parts: str | None) -> str | None:
        """The expressions given, all of them (None: none given)."""
        found = [f"({part})" for part in parts if part]
        return self.all_of.join(found) if found else None

    def _any(self, options: Iterable[str]) -> str:
        return "(" + self.any_of.join(options) + ")"


def known_words_of(words: Sequence[str], row: Sequence[Any]) -> set[str]:
    """The words whose "is it indexed?" column came back true."""
    return {word for word, known in zip(words, row, strict=True) if known}


def hits_by_columns(result: Result[Any]) -> list[Hit]:
    """Rows of a sort by columns: the game, then its sort key's values."""
    return [Hit(row[0], tuple(row[1:])) for row in result]


async def run_all(session: AsyncSession, statements: Iterable[Executable]) -> None:
    """An upkeep script (rebuild, clear), a statement at a time, in order."""
    for statement in statements:
        await session.execute(statement)
