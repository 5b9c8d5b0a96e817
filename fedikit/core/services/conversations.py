"""Direct conversations as each participant sees them (Mastodon's account conversations).

Once a direct status is committed, a job files it in a row of each local
participant: its author, and each mentioned local account that has not
turned the author away (the rule notifications follow). A row is kept per
account, conversation and set of other participants, as Mastodon keeps them;
the author's own post never leaves their row unread. Deleting a status takes
it out of every row in the same transaction, and a row left empty goes.

What a row shows is decided by :mod:`fedikit.core.visibility`: its last status
is the newest one the viewer may see, and a row with none is not shown.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.models import Account, AccountConversation, Status
from fedikit.core.pagination import newest_first, paginate
from fedikit.core.services.notifications import unwanted
from fedikit.core.visibility import can_see, visible_to
from fedikit.plugin_api import NotFound, Visibility

ADD_JOB = "core.add_to_conversations"
DIRECT = Visibility.DIRECT.value


@dataclasses.dataclass
class ConversationView:
    """A row as its owner sees it: the newest status they may see, and the other participants."""

    row: AccountConversation
    last_status: Status
    accounts: list[Account]


# ---------------------------------------------------------------- writing


def _others(status: Status, recipient_id: int) -> list[int]:
    """Everyone in ``status`` (author and mentioned) but ``recipient``, sorted: the row's participants."""
    return sorted(({m.account_id for m in status.mentions} | {status.account_id}) - {recipient_id})


def _key(account_ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(str(i) for i in account_ids).encode()).hexdigest()


def _set_statuses(row: AccountConversation, status_ids: Sequence[int]) -> None:
    """Keep the ids of statuses that still exist, oldest first; the newest is the row's last status."""
    wanted = set(status_ids)
    existing = set(db.session.scalars(select(Status.id).where(Status.id.in_(wanted)))) if wanted else set()
    kept = sorted(wanted & existing)
    row.status_ids = kept  # a new list, so the change is seen and stored
    row.last_status_id = kept[-1] if kept else None


def status_posted(status: Status) -> None:
    """After a status is committed: a direct one is filed in its participants' conversations (a job)."""
    if status.visibility == DIRECT and status.conversation_id is not None:
        jobs.enqueue(ADD_JOB, status_id=status.id)


def add_to_conversations_job(status_id: int) -> None:
    status = db.session.get(Status, status_id)
    if status is None or status.visibility != DIRECT or status.conversation_id is None:
        return  # deleted before its turn came
    ids = {m.account_id for m in status.mentions} | {status.account_id}
    local = select(Account).where(Account.id.in_(ids), Account.domain.is_(None), Account.suspended_at.is_(None))
    for recipient in list(db.session.scalars(local)):
        if recipient.id != status.account_id and unwanted(recipient, status.account, status):
            continue
        if can_see(recipient, status):
            add_status(recipient, status)


def add_status(recipient: Account, status: Status) -> AccountConversation:
    """File ``status`` in ``recipient``'s row for its conversation and participants, and commit; twice is once."""
    try:
        return _add_status(recipient, status)
    except IntegrityError:  # a concurrent job made the same row first: add to that one
        db.session.rollback()
        return _add_status(recipient, status)


def _add_status(recipient: Account, status: Status) -> AccountConversation:
    others = _others(status, recipient.id)
    key = _key(others)
    row = db.session.scalar(
        select(AccountConversation)
        .where(
            AccountConversation.account_id == recipient.id,
            AccountConversation.conversation_id == status.conversation_id,
            AccountConversation.participants_key == key,
        )
        .with_for_update()
    )
    if row is None:
        row = AccountConversation(
            account_id=recipient.id,
            conversation_id=status.conversation_id,
            participants_key=key,
            participant_account_ids=others,
            status_ids=[],
        )
        db.session.add(row)
    if status.id not in (row.status_ids or []):
        _set_statuses(row, [*(row.status_ids or []), status.id])
        row.unread = status.account_id != recipient.id
    db.session.commit()
    return row


def status_removed(status: Status) -> None:
    """Before a direct status is deleted, in the same transaction: take it out of every row holding it."""
    if status.visibility != DIRECT or status.conversation_id is None:
        return
    rows = db.session.scalars(
        select(AccountConversation)
        .where(AccountConversation.conversation_id == status.conversation_id)
        .with_for_update()
    )
    for row in list(rows):
        if status.id not in (row.status_ids or []):
            continue
        remaining = [i for i in row.status_ids if i != status.id]
        if remaining:
            _set_statuses(row, remaining)
        else:
            db.session.delete(row)


# ---------------------------------------------------------------- reading


def page(viewer: Account, **page_params: Any) -> tuple[list[ConversationView], list[int]]:
    """One page of ``viewer``'s conversations, most recently active first; and the page's cursor values.

    Paged by the last status id, as Mastodon pages them (so ``max_id`` and
    ``min_id`` are status ids). Rows whose statuses the viewer may no longer
    see are left out of the page but still move the cursor.
    """
    query = select(AccountConversation).where(
        AccountConversation.account_id == viewer.id, AccountConversation.last_status_id.is_not(None)
    )
    column = AccountConversation.last_status_id
    rows = newest_first(
        list(db.session.scalars(paginate(query, column, **page_params))), min_id=page_params.get("min_id")
    )
    return _views(viewer, rows), [row.last_status_id for row in rows]


def owned(viewer: Account, conversation_id: int | None) -> ConversationView:
    """The viewer's own conversation ``conversation_id``; NotFound for anyone else's, or one they cannot see."""
    row = db.session.get(AccountConversation, conversation_id) if conversation_id is not None else None
    views = _views(viewer, [row]) if row is not None and row.account_id == viewer.id else []
    if not views:
        raise NotFound("Record not found")
    return views[0]


def mark_read(viewer: Account, view: ConversationView) -> ConversationView:
    if view.row.account_id != viewer.id:
        raise NotFound("Record not found")
    view.row.unread = False
    db.session.commit()
    return view


def remove(viewer: Account, view: ConversationView) -> None:
    """Drop the row from the viewer's list; the statuses stay (a new message brings the row back)."""
    if view.row.account_id != viewer.id:
        raise NotFound("Record not found")
    db.session.delete(view.row)
    db.session.commit()


def _views(viewer: Account, rows: Sequence[AccountConversation]) -> list[ConversationView]:
    """Each row with the newest status ``viewer`` may see (rows without one are dropped) and its participants."""
    last_ids = {row.last_status_id for row in rows if row.last_status_id is not None}
    visible = set(db.session.scalars(select(Status.id).where(Status.id.in_(last_ids), visible_to(viewer))))
    newest: dict[int, int] = {}
    for row in rows:
        if row.last_status_id in visible:
            newest[row.id] = row.last_status_id
            continue
        # Rare: the newest status is out of sight (its author was suspended, say); take the newest one in sight.
        older = db.session.scalar(
            select(func.max(Status.id)).where(Status.id.in_(row.status_ids or []), visible_to(viewer))
        )
        if older is not None:
            newest[row.id] = older
    statuses = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(set(newest.values()))))}
    participant_ids = {i for row in rows for i in row.participant_account_ids or []}
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(participant_ids)))}
    views = []
    for row in rows:
        status = statuses.get(newest.get(row.id, 0))
        if status is None:
            continue
        others = [accounts[i] for i in row.participant_account_ids or [] if i in accounts]
        views.append(ConversationView(row, status, others or [viewer]))  # alone in it: oneself, as Mastodon shows
    return views


JOBS = {ADD_JOB: add_to_conversations_job}
