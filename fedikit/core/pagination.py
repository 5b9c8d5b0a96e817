"""Keyset pagination by id, as Mastodon pages: ``max_id``, ``since_id``, ``min_id``, ``limit``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam


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


def paginate_template(query: Select[Any], column: Any, *, max_id: bool, since_id: bool, min_id: bool) -> Select[Any]:
    """:func:`paginate` with bound parameters in place of the values: build once, run with :func:`page_params`.

    For queries run on every request (the home feed): a kept template skips
    building and hashing the statement each time.
    """
    return paginate(
        query,
        column,
        max_id=bindparam("page_max_id") if max_id else None,
        since_id=bindparam("page_since_id") if since_id else None,
        min_id=bindparam("page_min_id") if min_id else None,
        limit=bindparam("page_limit"),
    )


def page_params(
    *, max_id: int | None = None, since_id: int | None = None, min_id: int | None = None, limit: int = 20
) -> dict[str, int]:
    """Values for a :func:`paginate_template` statement made with the same page shape."""
    values = {"page_max_id": max_id, "page_since_id": since_id, "page_min_id": min_id, "page_limit": limit}
    return {key: value for key, value in values.items() if value is not None}
