"""GET /api/v2/search: accounts, statuses and hashtags; ``resolve`` fetches what is not stored yet."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from sqlalchemy import func, select

from fedikit.core.api import params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.api.v1.tags import tag_entities
from fedikit.core.db import db
from fedikit.core.models import Account, Status, Tag
from fedikit.core.services import search as search_service

TYPES = ("accounts", "statuses", "hashtags")


@scoped("read:search", public=True)
def search():  # noqa: ANN201
    viewer = current_account()
    query = (params.text("q") or "").replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
    if not query:
        abort(400, "q is required")
    kind = params.text("type")
    if kind is not None and kind not in TYPES:
        kind = None
    limit = params.integer("limit", 20, minimum=1, maximum=40)
    offset = params.integer("offset", 0, minimum=0) or 0
    if offset and viewer is None:
        abort(401, "Search queries with offset require a signed-in user")
    resolve = params.boolean("resolve") and viewer is not None  # anonymous searches never fetch remote things
    result: dict[str, list[Any]] = {"accounts": [], "statuses": [], "hashtags": []}

    if kind in (None, "accounts"):
        matched = search_service.find_accounts(query, resolve=resolve, limit=limit, offset=offset)
        result["accounts"] = [account_entity(a) for a in matched]
    if kind in (None, "statuses") and viewer is not None:  # Mastodon: status search needs a signed-in user
        found = _statuses(viewer, query, resolve, limit, offset)
        result["statuses"] = status_entities(viewer, found)
    if kind in (None, "hashtags"):
        name = query.lstrip("#").lower()
        tags = (
            db.session.scalars(
                select(Tag)
                .where(Tag.name.startswith(name, autoescape=True), Tag.listable.is_(True))
                .order_by(func.length(Tag.name), Tag.name)
                .offset(offset)
                .limit(limit)
            )
            if name
            else []
        )
        tags = list(tags)
        result["hashtags"] = tag_entities(tags, viewer)
    return jsonify(result)


def _statuses(viewer: Account, query: str, resolve: bool, limit: int, offset: int) -> list[Status]:
    if query.startswith(("https://", "http://")):
        found = search_service.resolve_url(query, viewer, fetch=resolve)
        return [found] if isinstance(found, Status) else []
    return search_service.statuses(viewer, query, limit=limit, offset=offset)
