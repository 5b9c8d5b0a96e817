"""Poll entities, with the viewer's own votes loaded for a whole page at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from fedikit.core.api.serializers.common import iso
from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, Poll
from fedikit.core.services import polls as service


def polls_for(viewer: Account | None, status_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Poll entities by status id, for the statuses of a page that have one (two queries)."""
    ids = set(status_ids)
    if not ids:
        return {}
    found = list(db.session.scalars(select(Poll).where(Poll.status_id.in_(ids))))
    votes = service.own_votes(viewer, [p.id for p in found])
    return {p.status_id: _poll(viewer, p, votes.get(p.id, [])) for p in found}


def poll(viewer: Account | None, one: Poll) -> dict[str, Any]:
    return _poll(viewer, one, service.own_votes(viewer, [one.id]).get(one.id, []))


def _poll(viewer: Account | None, p: Poll, own: list[int]) -> dict[str, Any]:
    ended = service.expired(p, utcnow())
    show_totals = ended or not p.hide_totals  # hidden totals stay hidden, even from the author, until the end
    tallies = list(p.tallies or [])
    data: dict[str, Any] = {
        "id": str(p.id),
        "expires_at": iso(p.expires_at),
        "expired": ended,
        "multiple": p.multiple,
        "votes_count": p.votes_count,
        "voters_count": p.voters_count,
        "options": [
            {"title": title, "votes_count": (tallies[i] if i < len(tallies) else 0) if show_totals else None}
            for i, title in enumerate(p.options or [])
        ],
        "emojis": [],
    }
    if viewer is not None:
        data["voted"] = bool(own) or p.account_id == viewer.id
        data["own_votes"] = own
    return data
