"""The deterministic catalog generator: `generate(n_games, seed)` builds the rows of a catalog
in memory (no database): `n_games` games (type "game"), plus their DLC, soundtracks and a few
bundles. Same arguments, same day: the same rows, byte for byte (`CatalogData.digest()`).

What makes it believable: titles from word lists in several patterns (and sequels), genres with
the tags that go with them, popularity that follows a power law (a few hits, a long tail),
review counts and scores that follow popularity, price tiers, sales running now, DLC of real
base games, bundles of real items, release dates over twenty years with more of them recently.
All dates are relative to `today` (midnight UTC).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from lugx.platform.review_scores import review_description, review_score
from lugx.services.catalog import seed_words as words
from lugx.services.catalog.models import FEATURES, PLATFORMS
from lugx.services.catalog.repository import APP_ID_STEP
from lugx.services.catalog.seed_draft import Draft, cumulative, zipf_weights
from lugx.services.catalog.seed_rows import (
    AppNumberRow,
    BundleItemRow,
    CatalogData,
    DiscountRow,
    GameGenreRow,
    GamePriceRow,
    GameRow,
    GameTagRow,
    GenreRow,
    PublisherRow,
    TagRow,
    without_cycle_collector,
)
from lugx.services.catalog.seed_text import Writer
from lugx.services.catalog.service import slugify
from lugx.services.catalog.taxonomy import GENRES

MEDIA_URL = "/api/v1/catalog/media"


def generate(n_games: int, seed: int, *, today: date | None = None) -> CatalogData:
    """A catalog of `n_games` games with their DLC, soundtracks and bundles. Pure: no database,
    no clock beyond `today` (default: today in UTC)."""
    if n_games < 1:
        raise ValueError("n_games must be at least 1")
    with without_cycle_collector():
        return _Generator(n_games, seed, today or datetime.now(UTC).date()).run()


DISCOUNT_PERCENTS = tuple(range(10, 95, 5))
_DISCOUNT_WEIGHTS = cumulative(
    (6, 5, 8, 9, 7, 5, 6, 3, 9, 2, 5, 2, 5, 6, 4, 2, 3)  # 10 % .. 90 %: Steam's usual shape
)
GAME_PRICES = (499, 999, 1499, 1999, 2499, 2999, 3999, 4999, 5999, 6999)
_GAME_PRICE_WEIGHTS = cumulative((22, 25, 16, 15, 7, 7, 4, 2, 1, 1))
_AAA_PRICES = (3999, 4999, 5999, 6999)
DLC_PRICES = (199, 299, 499, 799, 999, 1499, 1999)
SOUNDTRACK_PRICES = (299, 499, 799, 999)
# Regional prices a publisher would set for each USD tier: (EUR, GBP), in minor units.
REGIONAL_PRICES: dict[int, tuple[int, int]] = {
    199: (199, 169),
    299: (299, 249),
    499: (499, 429),
    799: (799, 679),
    999: (999, 849),
    1499: (1499, 1259),
    1999: (1999, 1699),
    2499: (2499, 2099),
    2999: (2999, 2499),
    3999: (3999, 3399),
    4999: (4999, 4199),
    5999: (5999, 4999),
    6999: (6999, 5999),
}
AGE_RATINGS_MATURE = ("PEGI 16", "PEGI 18")
AGE_RATINGS_ALL = ("PEGI 3", "PEGI 7")
AGE_RATINGS_TEEN = ("PEGI 7", "PEGI 12", "PEGI 16")
_MATURE_GENRES = frozenset({"horror", "shooter", "survival", "stealth"})
_ALL_AGES_GENRES = frozenset(
    {"casual", "puzzle", "sports", "racing", "educational", "rhythm", "card-game"}
)
# Chance of each feature beyond the defaults, for games led by a genre.
_MULTIPLAYER = {"mmo": 1.0, "fighting": 0.7, "shooter": 0.5, "sports": 0.5, "racing": 0.45}
_CO_OP = {"survival": 0.45, "shooter": 0.3, "mmo": 0.6, "action": 0.18, "platformer": 0.15}
_CONTROLLER = frozenset({"action", "platformer", "racing", "sports", "fighting", "rhythm"})
_HEAVY = frozenset({"shooter", "racing", "mmo", "survival", "sports", "rpg", "action"})
_LIGHT = frozenset({"casual", "puzzle", "visual-novel", "card-game", "educational", "rhythm"})


class _Generator(Writer):
    def __init__(self, n_games: int, seed: int, today: date) -> None:
        self.midnight = datetime(today.year, today.month, today.day, tzinfo=UTC)
        super().__init__(seed, self.midnight)
        self.n = n_games
        self.seed = seed
        self.today = today
        self.items: list[Draft] = []
        self.base_games: list[Draft] = []
        self.genre_ids = {slug: i for i, slug in enumerate(GENRES, start=1)}
        self.common_tags = [self.tag_ids[s] for s in words.COMMON_TAGS]
        self.genre_tags = {g: [self.tag_ids[s] for s in ts] for g, ts in words.GENRE_TAGS.items()}
        leading = [g for g, w in words.GENRE_WEIGHTS.items() if w]
        self.leading_genres = leading
        self.leading_weights = cumulative(words.GENRE_WEIGHTS[g] for g in leading)
        self.used_titles: set[str] = set()  # lower case
        self.titles_in_franchise: dict[str, int] = {}
        self.requirements_cache: dict[tuple[int, int, int], dict[str, Any]] = {}

    # - the whole catalog -

    def run(self) -> CatalogData:
        self.publishers = self._publishers()
        self.developers = self._developers()
        releases = self._release_dates()
        # Popularity rank of each game, in release order: 1..n shuffled.
        self.ranks = list(range(1, self.n + 1))
        self.rng.shuffle(self.ranks)
        for index, release in enumerate(releases):
            self._base_game(index, release)
        self._bundles()
        self._feature()
        data = self._rows()
        # The word source refers back to the generator: let go of it, so the generator and its
        # drafts are freed at once (the cycle collector is off while generating).
        del self.word
        return data

    def _unique_names(self, patterns: Sequence[str], count: int) -> list[str]:
        names: dict[str, None] = {}
        while len(names) < count:
            name = self.pick(patterns).format_map(self.word)
            if name in names:
                name = f"{name} {len(names)}"
            names[name] = None
        return list(names)

    def _publishers(self) -> list[PublisherRow]:
        count = max(3, round(self.n / 50))
        rows: list[PublisherRow] = []
        slugs: set[str] = set()
        for name in self._unique_names(words.PUBLISHER_PATTERNS, count):
            slug = slugify(name)[:60].strip("-")
            while slug in slugs:
                slug = f"{slug[:54]}-{len(slugs)}"
            slugs.add(slug)
            founded = self.midnight - timedelta(days=7300 + self.between(0, 3649))
            rows.append(PublisherRow(self.next_id(), name, slug, None, founded, founded))
        self.publisher_weights = zipf_weights(count, 0.8)
        return rows

    def _developers(self) -> list[tuple[str, int, bool]]:
        """(name, publisher index, indie?) for about one studio per five games."""
        count = max(5, self.n // 5)
        publishers = list(range(len(self.publishers)))
        developers = []
        for name in self._unique_names(words.DEVELOPER_PATTERNS, count):
            publisher = self.weighted(publishers, self.publisher_weights)
            indie = self.rng.random() < (0.15 if publisher < 10 else 0.75)
            developers.append((name, publisher, indie))
        self.developer_weights = zipf_weights(count, 0.5)
        return developers

    def _release_dates(self) -> list[date]:
        """More releases every year (as on Steam), about 3 % still to come; oldest first."""
        dates = []
        for _ in range(self.n):
            if self.rng.random() < 0.03:
                dates.append(self.today + timedelta(days=self.between(7, 365)))
            else:
                # The density grows as the square of time: most games are recent, as on Steam.
                days_ago = int(7300 * (1 - self.rng.random() ** (1 / 3)))
                dates.append(self.today - timedelta(days=days_ago))
        return sorted(dates)

    # - games -

    def _base_game(self, index: int, release: date) -> None:
        rng = self.rng
        earlier = self._sequel_candidate(index)
        game = Draft(
            seq=len(self.items),
            type="game",
            title="",
            developer=earlier.developer
            if earlier
            else self.weighted(range(len(self.developers)), self.developer_weights),
            release=release,
            coming_soon=release > self.today,
        )
        self.items.append(game)
        self.base_games.append(game)
        rank = self.ranks[index]
        fame = max(0.0, 1.0 - math.log10(rank) / math.log10(self.n + 10))
        game.genres = list(earlier.genres) if earlier else self._genres()
        game.features = self._features(game.genres[0])
        game.platforms = self._platforms(self.developers[game.developer][2])
        if self.developers[game.developer][2] and "indie" not in game.genres:
            game.genres.append("indie")
        multiplayer = bool(game.features & FEATURES["multiplayer"])
        free = rng.random() < 0.04 + (0.2 if multiplayer else 0) + (
            0.35 if "mmo" in game.genres else 0
        )
        game.early_access = (
            not game.coming_soon and (self.today - release).days < 1100 and rng.random() < 0.12
        )
        game.popularity = self._popularity(rank, game.coming_soon)
        game.price = 0 if free else self._game_price(rank)
        game.title = self._sequel_title(game, earlier) if earlier else self._title(game)
        game.quality = min(0.99, rng.betavariate(5 + 5 * fame, 1.6))
        self._reviews(game)
        game.tags = self._tags(game, fame, free)
        game.languages = self._languages(fame)
        game.age_rating = self._age_rating(game.genres[0], self.developers[game.developer][2])
        game.requirements = self._requirements(release.year, game.genres[0])
        game.screenshots = self.between(3, 8)
        game.short, game.long = self.game_text(game)
        if not game.coming_soon:
            self._extras(game, fame)

    def _sequel_candidate(self, index: int) -> Draft | None:
        if index < 20 or self.rng.random() >= 0.05:
            return None
        earlier = self.pick(self.base_games)
        if earlier.coming_soon or any(ch.isdigit() for ch in earlier.title):
            return None
        return earlier

    def _genres(self) -> list[str]:
        primary = self.weighted(self.leading_genres, self.leading_weights)
        related = words.RELATED_GENRES[primary]
        genres = [primary]
        extra = self.weighted((0, 1, 2), (35, 80, 100))
        for _ in range(extra):
            genre = self.pick(related)
            if genre not in genres:
                genres.append(genre)
        return genres

    def _features(self, genre: str) -> int:
        rng = self.rng
        mask = 0
        if rng.random() < (0.2 if genre == "mmo" else 0.93):
            mask |= FEATURES["single_player"]
        if rng.random() < _MULTIPLAYER.get(genre, 0.12):
            mask |= FEATURES["multiplayer"]
        if rng.random() < _CO_OP.get(genre, 0.08):
            mask |= FEATURES["co_op"]
        if rng.random() < (0.75 if genre in _CONTROLLER else 0.3):
            mask |= FEATURES["controller"]
        if rng.random() < (0.15 if genre == "rhythm" else 0.015):
            mask |= FEATURES["vr"]
        return mask or FEATURES["single_player"]

    def _platforms(self, indie: bool) -> int:
        rng = self.rng
        mask = PLATFORMS["windows"] if rng.random() >= 0.005 else 0
        mac = rng.random() < (0.32 if indie else 0.15) or not mask
        if mac:
            mask |= PLATFORMS["mac"]
        if rng.random() < (0.6 if mac else 0.04):
            mask |= PLATFORMS["linux"]
        return mask

    def _popularity(self, rank: int, coming_soon: bool) -> int:
        """A power law over the rank: the top game ~5 million, the median ~30,000 times
        less; a game not yet out has only its wishlists."""
        value = 5_000_000 / rank**0.95 * self.rng.uniform(0.85, 1.15)
        return max(1, int(value / (5 if coming_soon else 1)))

    def _game_price(self, rank: int) -> int:
        if rank <= self.n * 0.02 and self.rng.random() < 0.6:
            return self.pick(_AAA_PRICES)
        return self.weighted(GAME_PRICES, _GAME_PRICE_WEIGHTS)

    def _title(self, game: Draft) -> str:
        own = words.GENRE_TITLE_PATTERNS.get(game.genres[0], ())
        year = game.release.year + (1 if game.release.month >= 9 else 0)
        for _ in range(4):
            pattern = self.pick(own) if own and self.rng.random() < 0.35 else None
            pattern = pattern or self.pick(words.TITLE_PATTERNS)
            title = pattern.replace("{year}", str(year)).format_map(self.word)
            if title.lower() not in self.used_titles:  # else the slug would need a suffix
                break
        self.used_titles.add(title.lower())
        return title

    def _sequel_title(self, game: Draft, earlier: Draft) -> str:
        root = earlier.title
        number = self.titles_in_franchise.get(root, 1) + 1
        self.titles_in_franchise[root] = number
        numeral = words.ROMAN[number] if number < len(words.ROMAN) else str(number)
        arabic = int(hashlib.md5(root.encode(), usedforsecurity=False).hexdigest(), 16) % 3 == 0
        title = f"{root} {number if arabic else numeral}"
        self.used_titles.add(title.lower())
        return title

    def _reviews(self, item: Draft) -> None:
        """Review counts follow popularity; the score follows the game's quality."""
        if item.coming_soon:
            return
        rng = self.rng
        total = int(item.popularity * rng.uniform(0.02, 0.09))
        if total and rng.random() < 0.3:
            total += self.between(0, 12)  # friends, family and curators
        positive = min(total, round(total * min(1.0, rng.gauss(item.quality, 0.02))))
        item.reviews = (total, max(0, positive))
        days_out = (self.today - item.release).days
        recent = int(total * rng.uniform(0.01, 0.12) * (3.0 if days_out < 60 else 1.0))
        if recent >= 10:
            mood = min(1.0, max(0.0, item.quality + rng.uniform(-0.12, 0.08)))
            item.recent = (min(recent, total), round(min(recent, total) * mood))

    def _tags(self, game: Draft, fame: float, free: bool) -> list[tuple[int, int]]:
        """5-20 tags: the lead genre's own first, then more of the genres' and common ones;
        votes fall off as a power law."""
        rng = self.rng
        ids = self.tag_ids
        wanted = min(20, 5 + int(15 * fame * rng.uniform(0.5, 1.0)) + self.between(0, 3))
        chosen: dict[int, None] = {self.genre_tags[game.genres[0]][0]: None}
        for slug, present in (
            ("singleplayer", game.features & FEATURES["single_player"] and rng.random() < 0.8),
            ("multiplayer", game.features & FEATURES["multiplayer"]),
            ("co-op", game.features & FEATURES["co_op"]),
            ("vr", game.features & FEATURES["vr"]),
            ("indie", "indie" in game.genres),
            ("free-to-play", free),
            ("early-access", game.early_access),
        ):
            if present:
                chosen[ids[slug]] = None
        lists = [self.genre_tags[g] for g in game.genres if g != "indie"]
        lists = [lists[0], *lists]  # the lead genre twice as likely
        for _ in range(wanted * 3):
            if len(chosen) >= wanted:
                break
            if rng.random() < 0.6:
                pool = lists[int(rng.random() * len(lists))]
                chosen[pool[int(len(pool) * rng.random() ** 1.6)]] = None
            else:
                pool = self.common_tags
                chosen[pool[int(len(pool) * rng.random() ** 2)]] = None
        top = max(3, int(game.reviews[0] * rng.uniform(0.05, 0.25)) + self.between(1, 30))
        return [
            (tag, max(1, int(top / (k + 1) ** 0.85 * rng.uniform(0.8, 1.2))))
            for k, tag in enumerate(list(chosen)[:20])
        ]

    def _languages(self, fame: float) -> list[str]:
        rng = self.rng
        chosen = ["English"]
        for position, language in enumerate(words.LANGUAGES[1:]):
            if rng.random() < fame * 0.95 * 0.88**position + 0.02:
                chosen.append(language)
        return chosen

    def _age_rating(self, genre: str, indie: bool) -> str | None:
        if self.rng.random() < (0.5 if indie else 0.1):
            return None
        if genre in _MATURE_GENRES:
            return self.pick(AGE_RATINGS_MATURE)
        if genre in _ALL_AGES_GENRES:
            return self.pick(AGE_RATINGS_ALL)
        return self.pick(AGE_RATINGS_TEEN)

    def _requirements(self, year: int, genre: str) -> dict[str, Any]:
        heaviness = 2 if genre in _HEAVY else 0 if genre in _LIGHT else 1
        era = next(i for i, e in enumerate(words.REQUIREMENT_ERAS) if year <= e[0])
        era = max(0, era - (1 if heaviness == 0 else 0))
        size = words.STORAGE_GB[heaviness][int(self.rng.random() * 3)]
        key = (era, heaviness, size)
        if key not in self.requirements_cache:
            _, os_name, cpu, memory, gpu, rec_cpu, rec_memory, rec_gpu = words.REQUIREMENT_ERAS[era]
            storage = f"{size} GB available space"
            self.requirements_cache[key] = {
                "minimum": {
                    "os": os_name,
                    "processor": cpu,
                    "memory": memory,
                    "graphics": gpu,
                    "storage": storage,
                },
                "recommended": {
                    "os": os_name,
                    "processor": rec_cpu,
                    "memory": rec_memory,
                    "graphics": rec_gpu,
                    "storage": storage,
                },
            }
        return self.requirements_cache[key]

    # - DLC, soundtracks, bundles -

    def _extras(self, game: Draft, fame: float) -> None:
        rng = self.rng
        days_out = (self.today - game.release).days
        if days_out > 30 and rng.random() < 0.08 + 0.3 * fame:
            for _ in range(min(5, 1 + int(rng.random() ** 2 * 5 * (0.5 + fame)))):
                game.extras.append(self._dlc(game, days_out))
        if days_out > 0 and rng.random() < 0.05:
            game.extras.append(self._soundtrack(game))

    def _child(self, base: Draft, kind: str, title: str, release: date, price: int) -> Draft:
        rng = self.rng
        item = Draft(
            seq=len(self.items),
            type=kind,
            title=title,
            developer=base.developer,
            release=release,
            genres=list(base.genres),
            base=base.seq if kind == "dlc" else None,
            price=price,
            platforms=base.platforms,
            features=base.features,
            languages=list(base.languages),
            age_rating=base.age_rating,
            requirements=base.requirements,
        )
        self.items.append(item)
        share = rng.uniform(0.02, 0.3) if kind == "dlc" else rng.uniform(0.005, 0.03)
        item.popularity = max(1, int(base.popularity * share))
        item.quality = min(0.99, max(0.05, base.quality + rng.uniform(-0.15, 0.05)))
        self._reviews(item)
        keep = self.between(3, 8)
        item.tags = [(tag, max(1, votes // 10)) for tag, votes in base.tags[:keep]]
        return item

    def _dlc(self, base: Draft, days_out: int) -> Draft:
        release = base.release + timedelta(days=self.between(1, min(1500, days_out)))
        title = self.pick(words.DLC_PATTERNS).replace("{base}", base.title)
        dlc = self._child(base, "dlc", title.format_map(self.word), release, self.pick(DLC_PRICES))
        dlc.screenshots = self.between(1, 4)
        things = self.pick(("missions", "maps", "characters", "outfits", "weapons", "chapters"))
        dlc.short = (
            f"Expand {base.title} with {self.between(2, 40)} new {things}. "
            f"Requires the base game {base.title}."
        )
        dlc.long = f"{dlc.short}\n\n{base.short}"
        return dlc

    def _soundtrack(self, base: Draft) -> Draft:
        title = self.pick(words.SOUNDTRACK_PATTERNS).format(base=base.title)
        ost = self._child(base, "soundtrack", title, base.release, self.pick(SOUNDTRACK_PRICES))
        ost.features = 0
        ost.requirements = {}
        ost.tags = [(self.tag_ids["soundtrack"], max(1, ost.popularity // 50)), *ost.tags[:4]]
        tracks = self.between(8, 60)
        ost.short = f"The original soundtrack of {base.title}: {tracks} tracks."
        ost.long = f"{ost.short}\n\nIncludes MP3 and FLAC files of the score."
        return ost

    def _bundles(self) -> None:
        """About 1 % of the games get a bundle of themselves and their extras (2-5 items)."""
        rng = self.rng
        with_extras = [g for g in self.items if g.type == "game" and g.extras]
        count = min(len(with_extras), max(1, round(self.n * 0.01)))
        for base in sorted(rng.sample(with_extras, count), key=lambda g: g.seq):
            parts = [base, *base.extras[:4]]
            title = self.pick(words.BUNDLE_PATTERNS).format(base=base.title)
            bundle = Draft(
                seq=len(self.items),
                type="bundle",
                title=title,
                developer=base.developer,
                release=max(p.release for p in parts),
                genres=list(base.genres),
                items=parts,
                price=sum(p.price for p in parts),
                bundle_discount=self.pick((10, 15, 20, 25, 30, 35, 40)),
                platforms=base.platforms,
                features=base.features,
                languages=list(base.languages),
                age_rating=base.age_rating,
                requirements=base.requirements,
                popularity=max(1, base.popularity // 20),
                tags=[(tag, max(1, votes // 20)) for tag, votes in base.tags[:5]],
            )
            listing = ", ".join(p.title for p in parts)
            bundle.short = (
                f"Get all {len(parts)} items together and save {bundle.bundle_discount}%: "
                f"{listing}."
            )[:500]
            bundle.long = f"{bundle.short}\n\n{base.short}"
            self.items.append(bundle)

    def _feature(self) -> None:
        """A handful of recent hits for the front page."""
        wanted = min(12, max(3, self.n // 25))
        recent = [
            g
            for g in self.items
            if g.type == "game" and not g.coming_soon and (self.today - g.release).days < 730
        ]
        recent.sort(key=lambda g: (-g.popularity, g.seq))
        for game in recent[:wanted]:
            game.featured = True

    # - rows -

    def _rows(self) -> CatalogData:
        data = CatalogData(n_games=self.n, seed=self.seed, today=self.today)
        data.genres = [GenreRow(i, slug, GENRES[slug]) for slug, i in self.genre_ids.items()]
        data.tags = [TagRow(i, slug, words.TAGS[slug]) for slug, i in self.tag_ids.items()]
        data.publishers = self.publishers
        ordered = sorted(self.items, key=lambda item: (item.release, item.seq))
        for item in ordered:
            item.id = self.next_id()
        app_ids = {item.seq: number * APP_ID_STEP for number, item in enumerate(ordered, start=1)}
        data.app_numbers = [AppNumberRow(number) for number in range(1, len(ordered) + 1)]
        slugs: set[str] = set()
        for item in ordered:
            app_id = app_ids[item.seq]
            slug = slugify(item.title)
            if slug in slugs:
                slug = f"{slug}-{app_id}"
            slugs.add(slug)
            data.games.append(self._game_row(item, app_id, slug, data))
            data.game_genres.extend(GameGenreRow(item.id, self.genre_ids[g]) for g in item.genres)
            data.game_tags.extend(GameTagRow(item.id, tag, votes) for tag, votes in item.tags)
            data.bundle_items.extend(
                BundleItemRow(item.id, part.id, position)
                for position, part in enumerate(item.items)
            )
            self._prices(item, data)
        return data

    def _game_row(self, item: Draft, app_id: int, slug: str, data: CatalogData) -> GameRow:
        developer, publisher_index, _ = self.developers[item.developer]
        publisher = self.publishers[publisher_index]
        published = self.at(item.release) - timedelta(days=self.between(0, 60))
        published = min(published, self.midnight - timedelta(minutes=self.between(1, 1439)))
        if item.coming_soon:
            published = self.midnight - timedelta(days=self.between(1, 200))
        created = published - timedelta(days=self.between(1, 90), minutes=self.between(0, 1439))
        updated = min(self.midnight, published + timedelta(days=self.between(0, 400)))
        current = self._discounts(item, data)
        media = f"{MEDIA_URL}/{app_id}"
        total, positive = item.reviews
        recent_total, recent_positive = item.recent
        return GameRow(
            id=item.id,
            app_id=app_id,
            type=item.type,
            status="published",
            title=item.title[:200],
            slug=slug,
            short_description=item.short,
            long_description=item.long,
            developers=[developer],
            publisher_id=publisher.id,
            publisher_name=publisher.name,
            release_date=item.release,
            coming_soon=item.coming_soon,
            early_access=item.early_access,
            age_rating=item.age_rating,
            platforms_mask=item.platforms,
            features_mask=item.features,
            supported_languages=item.languages,
            header_image=f"{media}/header.svg",
            screenshots=[f"{media}/screenshot-{n}.svg" for n in range(1, item.screenshots + 1)],
            trailers=[],
            system_requirements=item.requirements,
            base_game_id=None if item.base is None else self.items[item.base].id,
            base_price=item.price,
            discount_percent=current.percent if current else None,
            discount_starts_at=current.starts_at if current else None,
            discount_ends_at=current.ends_at if current else None,
            bundle_discount_percent=item.bundle_discount,
            popularity=item.popularity,
            review_total=total,
            review_positive=positive,
            review_score=review_score(total, positive),
            review_description=review_description(total, positive),
            recent_review_score=review_score(recent_total, recent_positive),
            recent_review_description=review_description(recent_total, recent_positive),
            review_revision=0,  # generated, not reported by the reviews service
            is_featured=item.featured,
            published_at=published,
            created_at=created,
            updated_at=max(updated, created),
        )

    def _discounts(self, item: Draft, data: CatalogData) -> DiscountRow | None:
        """Past sales (history), a sale running now for ~15 %, a few scheduled. Returns the one
        the game row mirrors: running now, else the next to come."""
        if item.price == 0 or item.coming_soon or item.type == "bundle":
            return None
        rng = self.rng
        days_out = (self.today - item.release).days
        if days_out > 60 and rng.random() < 0.2:
            end = self.at(self.today - timedelta(days=self.between(15, min(700, days_out - 30))))
            start = end - timedelta(days=self.between(3, 14))
            data.discounts.append(self._discount(item, start, end, announced=True))
        roll = rng.random()
        if roll < 0.15:
            start = self.at(self.today - timedelta(days=self.between(1, 13)))
            # Some end within days, most within two weeks.
            end = self.at(self.today + timedelta(days=self.pick((1, 2, 3, 5, 7, 9, 11, 14))))
            current = self._discount(item, start, end, announced=True)
        elif roll < 0.17:
            start = self.at(self.today + timedelta(days=self.between(1, 10)))
            current = self._discount(item, start, start + timedelta(days=self.between(7, 14)))
        else:
            return None
        data.discounts.append(current)
        return current

    def _discount(
        self, item: Draft, start: datetime, end: datetime, *, announced: bool = False
    ) -> DiscountRow:
        """`announced`: the start (and, for one over, the end) counts as already announced, so
        the catalog's discount loop does not publish events for history."""
        percent: int = self.weighted(DISCOUNT_PERCENTS, _DISCOUNT_WEIGHTS)
        created = min(start, self.midnight) - timedelta(days=self.between(1, 20))
        return DiscountRow(
            id=self.next_id(),
            game_id=item.id,
            percent=percent,
            starts_at=start,
            ends_at=end,
            created_by=None,
            created_at=created,
            cancelled_at=None,
            start_announced=announced,
            end_announced=announced and end <= self.midnight,
        )

    def _prices(self, item: Draft, data: CatalogData) -> None:
        if item.price and item.type != "bundle" and self.rng.random() < 0.3:
            eur, gbp = REGIONAL_PRICES[item.price]
            data.game_prices.append(GamePriceRow(item.id, "EUR", eur))
            data.game_prices.append(GamePriceRow(item.id, "GBP", gbp))
