"""Names and sentences of the generated catalog (seed_generate.py): words drawn for title
patterns, and a game's descriptions. Every word and phrase is a draw of the seeded dice, in a
fixed order."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from lugx.services.catalog import seed_words as words
from lugx.services.catalog.models import FEATURES
from lugx.services.catalog.seed_draft import Dice, Draft

_META_TAGS = ("singleplayer", "multiplayer", "co-op", "vr", "indie", "free-to-play", "early-access")
# What each `{placeholder}` of a pattern draws: a word of each list, joined.
_WORD_PARTS: dict[str, tuple[Sequence[str], ...]] = {
    "adj": (words.ADJECTIVES,),
    "noun": (words.NOUNS,),
    "plural": (words.PLURALS,),
    "place": (words.PLACE_HEADS, words.PLACE_TAILS),
    "compound": (words.COMPOUND_HEADS, words.COMPOUND_TAILS),
    "sim": (words.SIM_SUBJECTS,),
    "sport": (words.SPORTS,),
    "sport_word": (words.SPORT_WORDS,),
    "race": (words.RACE_WORDS,),
}


class _Words(dict[str, str]):
    """`pattern.format_map(_Words(gen))`: every placeholder draws a fresh word."""

    def __init__(self, draw: Callable[[str], str]) -> None:
        super().__init__()
        self._draw = draw

    def __missing__(self, key: str) -> str:
        return self._draw(key)


class Writer(Dice):
    """The dice, with the words and sentences drawn from them."""

    def __init__(self, seed: int, midnight: datetime) -> None:
        super().__init__(seed, midnight)
        self.tag_ids = {slug: i for i, slug in enumerate(words.TAGS, start=1)}
        self.tag_text = ["", *map(_in_text, words.TAGS.values())]  # by tag id, for sentences
        self.meta_tags = {self.tag_ids[s] for s in _META_TAGS}
        self.word = _Words(self._draw_word)

    def _draw_word(self, kind: str) -> str:
        if kind == "subtitle":
            return self.pick(words.SUBTITLES).format_map(self.word)
        if kind not in _WORD_PARTS:
            raise KeyError(kind)
        return "".join([self.pick(part) for part in _WORD_PARTS[kind]])

    def game_text(self, game: Draft) -> tuple[str, str]:
        rng, pick = self.rng, self.pick
        # The game's own tags, not the ones every other game has too (singleplayer, indie...).
        tags = [self.tag_text[t] for t, _ in game.tags if t not in self.meta_tags]
        tag1, tag2, tag3 = ((tags[1:] or tags) * 3)[:3]
        kind = words.GENRE_NOUNS[game.genres[0]]
        tone = pick(words.TONES)
        hero, goal, setting = pick(words.HEROES), pick(words.GOALS), pick(words.SETTINGS)
        title = game.title
        short = pick(
            (
                f"{title} is {_a(tone)} {tone} {kind} about {hero} who {goal}.",
                f"Explore {setting} in {title}, {_a(tone)} {tone} {kind} of {tag1} and {tag2}.",
                f"{hero[0].upper()}{hero[1:]} {goal} in this {tone} {kind} set in {setting}.",
                f"{_a(tone).capitalize()} {tone} {kind} set in {setting}: {hero} {goal}.",
            )
        )
        mix = f"{title} mixes {tag1}, {tag2} and {tag3} into one {kind}."
        others = [f"{words.GENRE_NOUNS[g]}s" for g in game.genres[1:] if g != "indie"]
        if others:
            mix += f" Fans of {_and(others)} will feel at home."
        features = "\n".join(
            f"- {self._feature_line(line, tags)}"
            for line in rng.sample(words.FEATURE_LINES, self.between(3, 5))
        )
        long = f"{short}\n\n{mix} Set in {setting}.\n\nFeatures:\n{features}"
        return short, f"{long}\n\n{self._modes(game)}"

    def _feature_line(self, line: str, tags: Sequence[str]) -> str:
        return _capitalised(
            line.format(
                n=self.between(12, 120),
                m=self.between(2, 30),
                h=self.pick((5, 10, 20, 40, 60, 100)),
                tag=self.pick(tags),
                tag2=self.pick(tags),
            )
        )

    def _modes(self, item: Draft) -> str:
        parts = []
        if item.features & FEATURES["single_player"]:
            parts.append("Play solo")
        if item.features & FEATURES["co_op"]:
            parts.append("team up in co-op")
        if item.features & FEATURES["multiplayer"]:
            parts.append("take on players online")
        sentence = ", ".join(parts).capitalize() + "." if parts else ""
        if item.features & FEATURES["controller"]:
            sentence += " Full controller support."
        if item.features & FEATURES["vr"]:
            sentence += " Playable in VR."
        languages = (
            "in English" if len(item.languages) == 1 else f"in {len(item.languages)} languages"
        )
        return f"{sentence} Available {languages}.".strip()


def _a(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _and(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _in_text(tag_name: str) -> str:
    """A tag's name inside a sentence: "open world", "party-based RPG", "2D"."""
    return " ".join(
        word if word.isupper() or word[0].isdigit() else word.lower() for word in tag_name.split()
    )
