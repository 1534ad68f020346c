"""Demo and load data for the catalog: a believable store, generated from a seed.

- `generate(n_games, seed)` builds the rows of a catalog in memory (seed_generate.py, with
  seed_draft.py, seed_text.py and the word lists of seed_words.py); the rows are seed_rows.py's.
- `load(ctx_or_db, data)` writes them in bulk and rebuilds the search index once (seed_load.py).
- `seed_demo(ctx)` is the quick start's hook: a small catalog, only into an empty one
  (seed_demo.py).

This module is the entry the rest of the code imports (`lugx seed`, the service spec, tests).
"""

from __future__ import annotations

from lugx.services.catalog.seed_demo import DEMO_GAMES, DEMO_PUBLISHER_LOGIN, DEMO_SEED, seed_demo
from lugx.services.catalog.seed_generate import generate
from lugx.services.catalog.seed_load import (
    LoadReport,
    Progress,
    catalog_is_empty,
    clear,
    count_games,
    load,
)
from lugx.services.catalog.seed_rows import CatalogData

__all__ = [
    "DEMO_GAMES",
    "DEMO_PUBLISHER_LOGIN",
    "DEMO_SEED",
    "CatalogData",
    "LoadReport",
    "Progress",
    "catalog_is_empty",
    "clear",
    "count_games",
    "generate",
    "load",
    "seed_demo",
]
