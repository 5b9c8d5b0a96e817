"""Search documents kept in a table of their own (``search_documents``).

Accounts match word prefixes (``ali`` finds ``alice``: compose autocomplete),
statuses whole words, as Mastodon's search does. Every word of a query must
match. What a person typed is never read as query syntax: SQLite gets each
word in double quotes, PostgreSQL each whitespace-separated chunk as a quoted
lexeme stripped of the characters that could end the quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import bindparam, text

from fedikit.core.db import db

KINDS = frozenset({"statuses", "accounts"})
PREFIX_KINDS = frozenset({"accounts"})
WORD_RE = re.compile(r"\w+", re.UNICODE)
# Inside a quoted tsquery lexeme a quote or a backslash means something; ":" and "?" go too (as in
# Mastodon's account search), and NUL, which PostgreSQL text cannot hold.
NOT_IN_LEXEME_RE = re.compile(r"['\\:?\x00]")
MAX_TERMS = 16
_DELETE = text("DELETE FROM search_documents WHERE kind = :k AND doc_id = :i")
_DELETE_MANY = text("DELETE FROM search_documents WHERE kind = :k AND doc_id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
_INSERT = text("INSERT INTO search_documents (kind, doc_id, body) VALUES (:k, :i, :b)")
_SQLITE_SEARCH = text(
    "SELECT doc_id FROM search_documents WHERE search_documents MATCH :q AND kind = :k "
    "ORDER BY rank, doc_id DESC LIMIT :l OFFSET :o"
)
_PG_SEARCH = (
    "SELECT doc_id FROM search_documents "
    "WHERE kind = :k AND to_tsvector('simple', body) @@ {tsquery} "
    "ORDER BY ts_rank(to_tsvector('simple', body), {tsquery}) DESC, doc_id DESC "
    "LIMIT :l OFFSET :o"
)
_PG_WORDS_SEARCH = text(_PG_SEARCH.format(tsquery="plainto_tsquery('simple', :q)"))
_PG_PREFIX_SEARCH = text(_PG_SEARCH.format(tsquery="to_tsquery('simple', :q)"))


class SqlSearchIndex:
    kinds = KINDS

    def _sqlite(self) -> bool:
        return db.engine.dialect.name == "sqlite"

    # Writes go through a transaction of their own, never the caller's session.

    def index(self, kind: str, id: int, text_: str) -> None:
        self._check(kind)
        with db.engine.begin() as connection:
            connection.execute(_DELETE, {"k": kind, "i": id})
            connection.execute(_INSERT, {"k": kind, "i": id, "b": text_})

    def bulk_index(self, kind: str, documents: Iterable[tuple[int, str]]) -> int:
        """Store (or replace) many ``(id, text)`` documents of ``kind`` in one transaction; how many."""
        self._check(kind)
        rows = [{"k": kind, "i": id, "b": text_} for id, text_ in dict(documents).items()]
        if rows:
            with db.engine.begin() as connection:
                connection.execute(_DELETE_MANY, {"k": kind, "ids": [row["i"] for row in rows]})
                connection.execute(_INSERT, rows)
        return len(rows)

    def remove(self, kind: str, id: int) -> None:
        self._check(kind)
        with db.engine.begin() as connection:
            connection.execute(_DELETE, {"k": kind, "i": id})

    def search(self, kind: str, query: str, *, limit: int = 20, offset: int = 0) -> list[int]:
        self._check(kind)
        prefix = kind in PREFIX_KINDS
        if self._sqlite():
            terms, sql = fts5_query(query, prefix=prefix), _SQLITE_SEARCH
        elif prefix:
            terms, sql = prefix_tsquery(query), _PG_PREFIX_SEARCH
        else:
            terms, sql = " ".join(WORD_RE.findall(query)[:MAX_TERMS]), _PG_WORDS_SEARCH
        if not terms:
            return []
        params = {"k": kind, "q": terms, "l": limit, "o": offset}
        return [int(row[0]) for row in db.session.execute(sql, params)]

    @staticmethod
    def _check(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown search kind {kind!r}")


def fts5_query(query: str, *, prefix: bool) -> str:
    """An FTS5 query that all of ``query``'s words must match; "" when it has none.

    Each word is a quoted string (a run of ``\\w`` holds no quote), so nothing
    in it is FTS5 syntax; a ``*`` after the quotes matches words it begins.
    """
    star = "*" if prefix else ""
    return " ".join(f'"{word}"{star}' for word in WORD_RE.findall(query)[:MAX_TERMS])


def prefix_tsquery(query: str) -> str:
    """A ``to_tsquery`` text matching documents with words that begin as each of ``query``'s do; "" if none.

    Each chunk becomes ``'chunk':*``, and PostgreSQL's parser splits the chunk
    into words as it split the documents (``example.com`` stays one word).
    """
    chunks = [c for c in NOT_IN_LEXEME_RE.sub(" ", query).split() if WORD_RE.search(c)][:MAX_TERMS]
    return " & ".join(f"'{chunk}':*" for chunk in chunks)
