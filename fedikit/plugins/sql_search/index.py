"""Search documents kept in a table of their own (``search_documents``)."""

from __future__ import annotations

import re

from sqlalchemy import text

from fedikit.core.db import db

KINDS = frozenset({"statuses", "accounts"})
WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16
_DELETE = text("DELETE FROM search_documents WHERE kind = :k AND doc_id = :i")
_INSERT = text("INSERT INTO search_documents (kind, doc_id, body) VALUES (:k, :i, :b)")


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

    def remove(self, kind: str, id: int) -> None:
        self._check(kind)
        with db.engine.begin() as connection:
            connection.execute(_DELETE, {"k": kind, "i": id})

    def search(self, kind: str, query: str, *, limit: int = 20, offset: int = 0) -> list[int]:
        self._check(kind)
        words = WORD_RE.findall(query)[:MAX_TERMS]
        if not words:
            return []
        params = {"k": kind, "l": limit, "o": offset}
        if self._sqlite():
            # Each word quoted: the person's input is never read as FTS5 query syntax.
            params["q"] = " ".join('"' + w.replace('"', '""') + '"' for w in words)
            sql = (
                "SELECT doc_id FROM search_documents WHERE search_documents MATCH :q AND kind = :k "
                "ORDER BY rank, doc_id DESC LIMIT :l OFFSET :o"
            )
        else:
            params["q"] = " ".join(words)
            sql = (
                "SELECT doc_id FROM search_documents "
                "WHERE kind = :k AND to_tsvector('simple', body) @@ plainto_tsquery('simple', :q) "
                "ORDER BY ts_rank(to_tsvector('simple', body), plainto_tsquery('simple', :q)) DESC, doc_id DESC "
                "LIMIT :l OFFSET :o"
            )
        return [int(row[0]) for row in db.session.execute(text(sql), params)]

    @staticmethod
    def _check(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown search kind {kind!r}")
