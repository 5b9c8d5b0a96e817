"""Notifications for local accounts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_, select

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, Block, ConversationMute, Follow, Mute, Notification, Status
from fedikit.plugin_api import batch_job


def notify(recipient: Account, type_: str, from_account: Account, status: Status | None = None) -> None:
    """Add a notification to the session, unless it is pointless or unwanted.

    Not for remote recipients (their server notifies them), not for oneself
    (except that a poll has ended, as Mastodon tells its author), not from
    someone the recipient blocks or mutes with notifications hidden, and not
    about a conversation the recipient muted.
    """
    if not recipient.local or (recipient.id == from_account.id and type_ != "poll"):
        return
    if unwanted(recipient, from_account, status):
        return
    db.session.add(
        Notification(
            account_id=recipient.id,
            from_account_id=from_account.id,
            type=type_,
            status_id=status.id if status is not None else None,
        )
    )


def _thread_muted(account_id: Any, conversation_id: Any) -> ColumnElement[bool]:
    return exists().where(
        ConversationMute.account_id == account_id, ConversationMute.conversation_id == conversation_id
    )


# Built once (building a statement costs more than running it here): blocked, muted with notifications
# hidden, or the thread muted; a missing conversation (NULL) matches no thread mute.
_RECIPIENT, _SENDER = bindparam("recipient"), bindparam("sender")
_UNWANTED = select(
    exists().where(Block.account_id == _RECIPIENT, Block.target_account_id == _SENDER)
    | exists().where(
        Mute.account_id == _RECIPIENT,
        Mute.target_account_id == _SENDER,
        Mute.hide_notifications.is_(True),
        or_(Mute.expires_at.is_(None), Mute.expires_at > bindparam("now", type_=Mute.expires_at.type)),
    )
    | _thread_muted(_RECIPIENT, bindparam("conversation", type_=ConversationMute.conversation_id.type))
)
_THREAD_MUTED = select(_thread_muted(bindparam("account"), bindparam("conversation")))


def unwanted(recipient: Account, from_account: Account, status: Status | None = None) -> bool:
    """Whether ``recipient`` turned ``from_account`` away: a block, a mute hiding notifications, a muted thread.

    Direct messages reach a recipient's conversations by the same rule, as in Mastodon.
    """
    conversation = status.conversation_id if status is not None else None
    parameters = {"recipient": recipient.id, "sender": from_account.id, "now": utcnow(), "conversation": conversation}
    return bool(db.session.scalar(_UNWANTED, parameters))


def muted_conversation(account: Account, status: Status) -> bool:
    """Whether ``account`` muted the conversation ``status`` belongs to."""
    if status.conversation_id is None:
        return False
    return bool(db.session.scalar(_THREAD_MUTED, {"account": account.id, "conversation": status.conversation_id}))


# Built once: for each status, the local followers who asked to be told of its author's new posts; boosts and
# direct messages are not "new posts" (a direct one notifies as a mention).
_SUBSCRIBERS = (
    select(Status.id, Account)
    .join(Follow, Follow.account_id == Account.id)
    .join(Status, Status.account_id == Follow.target_account_id)
    .where(
        Status.id.in_(bindparam("statuses", expanding=True)),
        Status.reblog_of_id.is_(None),
        Status.visibility != "direct",
        Follow.notify.is_(True),
        Account.domain.is_(None),
    )
)


@batch_job(100)
def notify_subscribers_job(items: list[dict[str, Any]]) -> None:
    """The ``core.notify_subscribers`` job (``status_id``): see :func:`notify_subscribers`."""
    notify_subscribers([item["status_id"] for item in items])


def notify_subscribers(status_ids: Sequence[int]) -> None:
    """A "status" notification to each local follower who asked to be told of new posts (``notify``)."""
    from fedikit.core.visibility import can_see

    wanted = list(db.session.execute(_SUBSCRIBERS, {"statuses": list(status_ids)}))
    if not wanted:  # most authors have none: nothing else is read
        return
    found = select(Status).where(Status.id.in_({status_id for status_id, _ in wanted}))
    statuses = {status.id: status for status in db.session.scalars(found)}
    for status_id, subscriber in wanted:
        status = statuses.get(status_id)
        if status is not None and can_see(subscriber, status):  # (deleted meanwhile: gone)
            notify(subscriber, "status", status.account, status)


JOBS = {"core.notify_subscribers": notify_subscribers_job}
