"""Page parameters and ``Link`` headers, as Mastodon pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from flask import request
from sqlalchemy import Select

from fedikit.core.api import params
from fedikit.core.api.serializers.common import base_url
from fedikit.core.db import db
from fedikit.core.pagination import newest_first, paginate


def page(default: int = 20, maximum: int = 40) -> dict[str, Any]:
    """``max_id``, ``since_id``, ``min_id`` (ids; anything else is ignored) and a bounded ``limit``."""
    return {
        "max_id": params.ident(params.text("max_id")),
        "since_id": params.ident(params.text("since_id")),
        "min_id": params.ident(params.text("min_id")),
        "limit": params.integer("limit", default, minimum=1, maximum=maximum),
    }


def rows(query: Select[Any], column: Any, page_params: dict[str, Any]) -> list[Any]:
    """One page of ``query`` by ``column`` (an id), newest first, whichever way it was asked for."""
    found = db.session.scalars(paginate(query, column, **page_params))
    return newest_first(list(found), min_id=page_params.get("min_id"))


def link_header(ids: Sequence[int]) -> dict[str, str]:
    """``Link`` with ``next`` (older, ``max_id``) and ``prev`` (newer, ``min_id``) for a newest-first page."""
    if not ids:
        return {}
    keep = [(k, v) for k, v in request.args.items(multi=True) if k not in ("max_id", "min_id", "since_id")]
    url = f"{base_url()}{request.path}"
    older = urlencode([*keep, ("max_id", str(ids[-1]))])
    newer = urlencode([*keep, ("min_id", str(ids[0]))])
    return {"Link": f'<{url}?{older}>; rel="next", <{url}?{newer}>; rel="prev"'}


def offset_link_header(offset: int, limit: int, count: int) -> dict[str, str]:
    """``Link`` for a page found by ``offset`` (trends): ``next`` when the page was full, ``prev`` unless first."""
    keep = [(k, v) for k, v in request.args.items(multi=True) if k != "offset"]
    url = f"{base_url()}{request.path}"
    links = []
    if count >= limit:
        links.append(f'<{url}?{urlencode([*keep, ("offset", str(offset + limit))])}>; rel="next"')
    if offset > 0:
        links.append(f'<{url}?{urlencode([*keep, ("offset", str(max(offset - limit, 0)))])}>; rel="prev"')
    return {"Link": ", ".join(links)} if links else {}
