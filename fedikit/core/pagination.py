"""Keyset pagination by id, as Mastodon pages: ``max_id``, ``since_id``, ``min_id``, ``limit``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select


def paginate(
    query: Select[Any],
    column: Any,
    *,
    max_id: int | None = None,
    since_id: int | None = None,
    min_id: int | None = None,
    limit: int = 20,
) -> Select[Any]:
    """Newest first below ``max_id`` and above ``since_id``; with ``min_id``, the page just above it.

    With ``min_id`` the query is ordered oldest first (so the limit takes the
    rows right after ``min_id``); callers reverse the rows, see :func:`newest_first`.
    """
    if max_id is not None:
        query = query.where(column < max_id)
    if since_id is not None:
        query = query.where(column > since_id)
    if min_id is not None:
        return query.where(column > min_id).order_by(column.asc()).limit(limit)
    return query.order_by(column.desc()).limit(limit)


def newest_first(rows: list[Any], *, min_id: int | None) -> list[Any]:
    """Rows of a :func:`paginate` query in newest-first order whichever way it ran."""
    return list(reversed(rows)) if min_id is not None else rows
