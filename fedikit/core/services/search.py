"""Finding things: full-text search through the chosen index, and resolving URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from fedikit.core.db import db
from fedikit.core.models import Account, Status
from fedikit.core.state import current
from fedikit.core.visibility import can_see, visible_to


def statuses(viewer: Account | None, query: str, *, limit: int = 20, offset: int = 0) -> list[Status]:
    """Statuses matching ``query`` that ``viewer`` may see, best match first."""
    index = current().search
    if "statuses" not in index.kinds:
        return []
    ids = index.search("statuses", query, limit=limit, offset=offset)
    if not ids:
        return []
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(ids), visible_to(viewer)))}
    return [found[i] for i in ids if i in found]


def accounts(query: str, *, limit: int = 40, offset: int = 0) -> list[Account]:
    index = current().search
    if "accounts" not in index.kinds:
        return []
    ids = index.search("accounts", query, limit=limit, offset=offset)
    found = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids), Account.suspended_at.is_(None)))
    }
    return [found[i] for i in ids if i in found]


def resolve_url(url: str, viewer: Account | None = None, *, fetch: bool = True) -> Any:
    """The stored status or account at ``url``, else (with ``fetch``) what ``resolve_object`` fetches.

    None if neither; a status comes back only when ``viewer`` may see it.
    """
    status = db.session.scalar(select(Status).where(or_(Status.uri == url, Status.url == url)).limit(1))
    if status is None:
        account = db.session.scalar(select(Account).where(or_(Account.uri == url, Account.url == url)).limit(1))
        if account is not None:
            return account
        found = current().hook.resolve_object(url=url) if fetch else None
        if not isinstance(found, Status):
            return found
        status = found
    return status if can_see(viewer, status) else None
