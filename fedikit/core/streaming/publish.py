"""Publishing live events after their transaction commits.

A message is JSON: ``{"event": "update", "id": 123}``. It names what
happened and to which row; each stream loads the row again for its own
viewer (:mod:`.connection`), so a message never carries anything a
subscriber might not be allowed to see.

Statuses: :func:`status_published` queues ``core.stream_status`` (after the
commit, like every job), which finds the status's channels: its author's
and local followers' home channels and list channels by core's fan-out rule
(:func:`~fedikit.core.services.timelines.feeds_for`), and for a public
status the public and hashtag channels. With a precomputed feed store the
fan-out job, which computes that audience anyway, publishes instead. Deletions take the channels the
status was on before it went (:func:`removal_channels`, then
:func:`status_deleted` after the commit).

Notifications, conversations, filter changes and revoked tokens are
published by session hooks at commit, whichever code path wrote them.

Publishing is best effort: if the pub/sub backend fails, the write that
caused the event has already committed; the failure is logged and the
request goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.models import (
    AccessToken,
    AccountConversation,
    Notification,
    Status,
)
from fedikit.core.models.personal import changed_filter_owners
from fedikit.core.streaming.streams import (
    direct_channel,
    hashtag_channel,
    list_channel,
    public_channels,
    token_channel,
    user_channel,
)
from fedikit.plugin_api import Visibility

log = logging.getLogger("fedikit.streaming")

_PENDING = "fedikit.streaming.pending"  # session.info: (channel, message) to publish at commit


def message(event_name: str, id_: int | None = None) -> str:
    body: dict[str, Any] = {"event": event_name}
    if id_ is not None:
        body["id"] = id_
    return json.dumps(body, separators=(",", ":"))


def publish(channels: Iterable[str], text: str, listening: set[str] | None | bool = True) -> None:
    """Publish ``text`` on each channel that someone listens to (every channel, if the backend cannot tell).

    ``listening``: what :func:`active_channels` answered, when the caller asked already.
    """
    from fedikit.core.state import current

    pubsub = current().streaming
    wanted = list(dict.fromkeys(channels))
    if listening is True:
        listening = active_channels()
    if isinstance(listening, set):
        wanted = [c for c in wanted if c in listening]
    try:
        for channel in wanted:
            pubsub.publish(channel, text)
    except Exception:  # the cause is committed; a missed live event is not worth failing for
        log.exception("could not publish a streaming event on %d channel(s)", len(wanted))


def active_channels() -> set[str] | None:
    """The channels someone listens to now, in any process; None when the backend cannot tell."""
    from fedikit.core.state import current

    probe = getattr(current().streaming, "active_channels", None)
    if probe is None:
        return None
    try:
        return set(probe())
    except Exception:
        log.exception("could not ask the streaming backend who listens")
        return None


def _heard(listening: set[str] | None, wanted: Callable[[str], bool]) -> bool:
    """Someone listens to a channel ``wanted`` accepts (or the backend cannot tell)."""
    return listening is None or any(wanted(channel) for channel in listening)


def _timeline(channel: str) -> bool:
    return channel.startswith("timeline:")


def _audience(channel: str) -> bool:
    """A home channel (``timeline:<id>``) or a list channel: those a status's audience is computed for."""
    _, _, rest = channel.partition(":")
    return rest.isdigit() or channel.startswith("timeline:list:")


# ---------------------------------------------------------------- statuses


def status_published(status: Status, *, edited: bool = False) -> None:
    """After a status (or a boost, or an edit) is committed: stream it to whoever may see it.

    A new status on a precomputed feed store is streamed by the fan-out job,
    which computes its audience anyway (:func:`status_fanned_out`).
    """
    from fedikit.core.state import current

    if (edited or not current().feeds.precomputed) and streamed(status):
        jobs.enqueue("core.stream_status", status_id=status.id, edited=edited)


def streamed(status: Status) -> bool:
    """Whether anyone may want ``status`` live now: someone listens to a timeline channel (or who listens
    cannot be told)."""
    return _heard(active_channels(), _timeline)


def status_fanned_out(status: Status, feeds: list[str]) -> None:
    """The fan-out put a new status into ``feeds``: stream it there, and on the public channels."""
    listening = active_channels()
    if _heard(listening, _timeline):
        publish(channels_of(status, feeds, listening), message("update", status.id), listening)


def stream_status_job(status_id: int, edited: bool = False) -> None:
    status = db.session.get(Status, status_id)
    if status is not None:
        listening = active_channels()
        event = message("status.update" if edited else "update", status.id)
        publish(channels_of(status, None, listening), event, listening)


def channels_of(status: Status, feeds: list[str] | None, listening: set[str] | None) -> list[str]:
    """Every channel a status is streamed on: home and list channels of its audience, public and hashtags.

    The audience (``feeds``) is computed here only if someone listens to a home or list channel.
    """
    from fedikit.core.services import timelines

    channels: list[str] = []
    if feeds is None and _heard(listening, _audience):
        feeds = timelines.feeds_for(status)
    for feed in feeds or ():
        kind, _, ident = feed.partition(":")
        channels.append(user_channel(int(ident)) if kind == "home" else list_channel(int(ident)))
    if status.visibility == Visibility.PUBLIC.value and status.reblog_of_id is None:
        media = bool(status.media_attachments)
        channels += public_channels(local=status.local, media=media)
        for tag in status.tags:
            channels.append(hashtag_channel(tag.name))
            if status.local:
                channels.append(hashtag_channel(tag.name, local=True))
    return channels


def removal_channels(status: Status, feeds: list[str] | None = None) -> list[str]:
    """Before a status is deleted: the channels to tell (its delete goes where its update went)."""
    listening = active_channels()
    if not _heard(listening, _timeline):
        return []
    return channels_of(status, feeds or None, listening)


def status_deleted(status_id: int, channels: list[str]) -> None:
    if channels:
        publish(channels, message("delete", status_id))


# ---------------------------------------------------------------- rows written anywhere: session hooks


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    pending: list[tuple[str, str]] = session.info.setdefault(_PENDING, [])
    for row in session.new:
        if isinstance(row, Notification):
            pending.append((user_channel(row.account_id), message("notification", row.id)))
        elif isinstance(row, AccountConversation):
            pending.append((direct_channel(row.account_id), message("conversation", row.id)))
    for row in list(session.dirty):
        if isinstance(row, AccountConversation) and session.is_modified(row):
            pending.append((direct_channel(row.account_id), message("conversation", row.id)))
        elif isinstance(row, AccessToken):
            revoked = inspect(row).attrs.revoked_at.history
            if revoked.added and revoked.added[0] is not None:
                pending.append((token_channel(row.id), message("kill")))
    for row in session.deleted:
        if isinstance(row, AccessToken):
            pending.append((token_channel(row.id), message("kill")))
    for owner in changed_filter_owners(session):
        pending.append((user_channel(owner), message("filters_changed")))


@event.listens_for(Session, "after_commit")
def _send(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    by_message: dict[str, list[str]] = {}
    for channel, text in dict.fromkeys(pending):
        by_message.setdefault(text, []).append(channel)
    for text, channels in by_message.items():
        publish(channels, text)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_PENDING, None)


JOBS = {"core.stream_status": stream_status_job}
