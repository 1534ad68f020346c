"""The store's genres. Publishers pick from these; tags are free-form (players add their own)."""

from __future__ import annotations

GENRES: dict[str, str] = {
    "action": "Action",
    "adventure": "Adventure",
    "rpg": "RPG",
    "strategy": "Strategy",
    "simulation": "Simulation",
    "sports": "Sports",
    "racing": "Racing",
    "puzzle": "Puzzle",
    "casual": "Casual",
    "indie": "Indie",
    "horror": "Horror",
    "shooter": "Shooter",
    "platformer": "Platformer",
    "fighting": "Fighting",
    "survival": "Survival",
    "sandbox": "Sandbox",
    "roguelike": "Roguelike",
    "visual-novel": "Visual Novel",
    "mmo": "Massively Multiplayer",
    "card-game": "Card Game",
    "rhythm": "Rhythm",
    "stealth": "Stealth",
    "tower-defense": "Tower Defense",
    "city-builder": "City Builder",
    "educational": "Educational",
}


def tag_name(slug: str) -> str:
    return " ".join(part.capitalize() for part in slug.split("-"))
