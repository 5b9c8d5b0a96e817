"""Notifications for local accounts."""

from __future__ import annotations

from sqlalchemy import exists, or_, select

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, Block, Mute, Notification, Status


def notify(recipient: Account, type_: str, from_account: Account, status: Status | None = None) -> None:
    """Add a notification to the session, unless it is pointless or unwanted.

    Not for oneself, not for remote recipients (their server notifies them),
    not from someone the recipient blocks or mutes with notifications hidden.
    """
    if not recipient.local or recipient.id == from_account.id:
        return
    unwanted = db.session.scalar(
        select(
            exists().where(Block.account_id == recipient.id, Block.target_account_id == from_account.id)
            | exists().where(
                Mute.account_id == recipient.id,
                Mute.target_account_id == from_account.id,
                Mute.hide_notifications.is_(True),
                or_(Mute.expires_at.is_(None), Mute.expires_at > utcnow()),
            )
        )
    )
    if unwanted:
        return
    db.session.add(
        Notification(
            account_id=recipient.id,
            from_account_id=from_account.id,
            type=type_,
            status_id=status.id if status is not None else None,
        )
    )
