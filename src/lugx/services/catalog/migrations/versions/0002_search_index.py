"""Search index: FTS5 on SQLite, a weighted tsvector with GIN on PostgreSQL, and the typo table.

Not in the models (the ORM never loads these tables); kept up to date by the service calling
search.reindex_game after a write and search.rebuild_index after a bulk load. The upgrade fills
the index from the games already there. The SQL is copied here, not imported, so this revision
does what it did when it was written. See docs/search.md.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    """
    CREATE TABLE game_search_docs (
        doc INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL UNIQUE,
        title TEXT NOT NULL,
        keywords TEXT NOT NULL,
        facets TEXT NOT NULL
    )
    """,
    """
    CREATE VIRTUAL TABLE game_search USING fts5(
        title, keywords, facets,
        content = 'game_search_docs', content_rowid = 'doc',
        tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
    )
    """,
    "CREATE VIRTUAL TABLE game_search_vocab USING fts5vocab(game_search, 'col')",
    """
    CREATE TABLE game_search_variants (
        variant VARCHAR(40) NOT NULL,
        term VARCHAR(40) NOT NULL,
        PRIMARY KEY (variant, term)
    ) WITHOUT ROWID
    """,
    # A deleted game leaves the index with it (only deletes: inserts and updates of games cost
    # nothing extra; the service reindexes what it changes).
    """
    CREATE TRIGGER game_search_forget_deleted AFTER DELETE ON games BEGIN
        INSERT INTO game_search(game_search, rowid, title, keywords, facets)
            SELECT 'delete', doc, title, keywords, facets FROM game_search_docs
            WHERE app_id = old.app_id;
        DELETE FROM game_search_docs WHERE app_id = old.app_id;
    END
    """,
    """
    INSERT INTO game_search_docs(doc, app_id, title, keywords, facets)
    SELECT
        (((2147483647 - min(max(g.popularity, 0), 2147483647)) << 32) | g.app_id),
        g.app_id,
        g.title,
        coalesce((SELECT group_concat(t.name, ' ') FROM game_tags gt JOIN tags t ON t.id = gt.tag_id
                  WHERE gt.game_id = g.id), '')
          || ' ' || coalesce((SELECT group_concat(d.value, ' ') FROM json_each(g.developers) d), '')
          || ' ' || g.publisher_name,
        (SELECT json_group_array(token) FROM (
            SELECT 'k' || g.type AS token
            UNION ALL SELECT 'g' || lower(hex(ge.slug)) FROM game_genres gg
                      JOIN genres ge ON ge.id = gg.genre_id WHERE gg.game_id = g.id
            UNION ALL SELECT 't' || lower(hex(t.slug)) FROM game_tags gt
                      JOIN tags t ON t.id = gt.tag_id WHERE gt.game_id = g.id
            UNION ALL SELECT 'p' || b.value FROM json_each('[1,2,4]') b
                      WHERE g.platforms_mask & b.value
            UNION ALL SELECT 'f' || b.value FROM json_each('[1,2,4,8,16]') b
                      WHERE g.features_mask & b.value))
    FROM games g WHERE g.status = 'published' ORDER BY 1
    """,
    "INSERT INTO game_search(game_search) VALUES ('rebuild')",
    "INSERT INTO game_search(game_search) VALUES ('optimize')",
    """
    WITH RECURSIVE position(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM position WHERE i < 40),
    terms(term) AS (
        SELECT DISTINCT term FROM game_search_vocab
        WHERE col IN ('title', 'keywords') AND length(term) BETWEEN 3 AND 40
          AND term GLOB '*[^0-9]*')
    INSERT OR IGNORE INTO game_search_variants(variant, term)
    SELECT term, term FROM terms
    UNION ALL
    SELECT substr(term, 1, i - 1) || substr(term, i + 1), term
    FROM terms JOIN position ON position.i <= length(term)
    WHERE length(term) >= 4
    """,
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS game_search_forget_deleted",
    "DROP TABLE IF EXISTS game_search_vocab",
    "DROP TABLE IF EXISTS game_search",
    "DROP TABLE IF EXISTS game_search_docs",
    "DROP TABLE IF EXISTS game_search_variants",
]

POSTGRES_UP = [
    """
    CREATE TABLE game_search (
        app_id integer PRIMARY KEY REFERENCES games (app_id) ON DELETE CASCADE,
        title tsvector NOT NULL,
        document tsvector NOT NULL
    )
    """,
    "CREATE INDEX ix_game_search_title ON game_search USING gin (title)",
    "CREATE INDEX ix_game_search_document ON game_search USING gin (document)",
    """
    CREATE TABLE game_search_variants (
        variant varchar(40) COLLATE "C" NOT NULL,
        term varchar(40) COLLATE "C" NOT NULL,
        PRIMARY KEY (variant, term)
    )
    """,
    """
    INSERT INTO game_search(app_id, title, document)
    SELECT g.app_id,
        to_tsvector('simple', (CASE WHEN g.title ~ '^[ -~]*$' THEN g.title
            ELSE normalize(regexp_replace(normalize(g.title, NFD), :marks, '', 'g'), NFC) END)),
        setweight(to_tsvector('simple', (CASE WHEN g.title ~ '^[ -~]*$' THEN g.title
            ELSE normalize(regexp_replace(normalize(g.title, NFD), :marks, '', 'g'), NFC) END)),
            'A')
        || setweight(to_tsvector('simple', (CASE WHEN kw.text ~ '^[ -~]*$' THEN kw.text
            ELSE normalize(regexp_replace(normalize(kw.text, NFD), :marks, '', 'g'), NFC) END)),
            'B')
        || array_to_tsvector(
            ARRAY['_k' || g.type] || coalesce(gn.tokens, '{}') || coalesce(tn.tokens, '{}')
            || ARRAY(SELECT '_p' || b FROM unnest(ARRAY[1, 2, 4]) AS b
                     WHERE g.platforms_mask & b <> 0)
            || ARRAY(SELECT '_f' || b FROM unnest(ARRAY[1, 2, 4, 8, 16]) AS b
                     WHERE g.features_mask & b <> 0))
    FROM games g
    LEFT JOIN (
        SELECT gg.game_id,
            array_agg('_g' || encode(convert_to(ge.slug, 'UTF8'), 'hex')) AS tokens
        FROM game_genres gg JOIN genres ge ON ge.id = gg.genre_id
        GROUP BY gg.game_id
    ) AS gn ON gn.game_id = g.id
    LEFT JOIN (
        SELECT gt.game_id, string_agg(t.name, ' ') AS names,
            array_agg('_t' || encode(convert_to(t.slug, 'UTF8'), 'hex')) AS tokens
        FROM game_tags gt JOIN tags t ON t.id = gt.tag_id
        GROUP BY gt.game_id
    ) AS tn ON tn.game_id = g.id
    LEFT JOIN LATERAL (
        SELECT string_agg(d, ' ') AS names FROM json_array_elements_text(g.developers) AS d
    ) AS dv ON true
    CROSS JOIN LATERAL (
        SELECT coalesce(tn.names, '') || ' ' || coalesce(dv.names, '') || ' ' || g.publisher_name
            AS text
    ) AS kw
    WHERE g.status = 'published'
    """,
    """
    WITH terms AS (
        SELECT DISTINCT term FROM game_search, unnest(tsvector_to_array(document)) AS term
        WHERE char_length(term) BETWEEN 3 AND 40 AND term ~ '[^0-9]'
          AND term !~ :punctuation)
    INSERT INTO game_search_variants(variant, term)
    SELECT term, term FROM terms
    UNION
    SELECT overlay(term PLACING '' FROM i FOR 1), term
    FROM terms, generate_series(1, char_length(term)) AS i
    WHERE char_length(term) >= 4
    ON CONFLICT DO NOTHING
    """,
]

POSTGRES_DOWN = [
    "DROP TABLE IF EXISTS game_search_variants",
    "DROP TABLE IF EXISTS game_search",
]


# Bound values (a colon in the SQL text would read as a parameter; marks are characters).
PARAMETERS = {
    "punctuation": "[[:punct:][:space:]]",
    # Diacritics after NFD: the combining blocks of Latin, Greek and Cyrillic (as search.fold).
    "marks": "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]",
}


def _run(statements: list[str]) -> None:
    for statement in statements:
        sql = sa.text(statement)
        used = {name: value for name, value in PARAMETERS.items() if f":{name}" in statement}
        op.execute(sql.bindparams(**used) if used else sql)


# What a search reads of a matched game to filter and sort it (models.Game declares it too).
COVERING_COLUMNS = [
    "app_id",
    "status",
    "base_price",
    "discount_percent",
    "discount_starts_at",
    "discount_ends_at",
    "release_date",
    "popularity",
    "review_score",
    "review_total",
    "platforms_mask",
]


def upgrade() -> None:
    op.create_index("ix_games_search", "games", COVERING_COLUMNS, unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _run(POSTGRES_UP)
    else:
        _run(SQLITE_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _run(POSTGRES_DOWN)
    else:
        _run(SQLITE_DOWN)
    op.drop_index("ix_games_search", table_name="games")
