"""Notification entities for a page, with their accounts and statuses loaded in a few queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.common import iso
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.db import db
from fedikit.core.models import Account, Notification, Status


def notifications(viewer: Account, page: Sequence[Notification]) -> list[dict[str, Any]]:
    accounts = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_({n.from_account_id for n in page})))
    }
    status_ids = [n.status_id for n in page if n.status_id]
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(status_ids)))} if status_ids else {}
    ordered = [found[i] for i in dict.fromkeys(status_ids) if i in found]
    rendered = {int(e["id"]): e for e in status_entities(viewer, ordered)}
    out = []
    for n in page:
        entity: dict[str, Any] = {
            "id": str(n.id),
            "type": n.type,
            "created_at": iso(n.created_at),
            "group_key": f"ungrouped-{n.id}",
            "account": account_entity(accounts[n.from_account_id]),
        }
        if n.status_id:
            entity["status"] = rendered.get(n.status_id)
        out.append(entity)
    return out
