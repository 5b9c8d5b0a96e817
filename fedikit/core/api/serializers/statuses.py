"""Status, with the viewer's own state (favourited, reblogged, ...) loaded for a whole page at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.common import base_url, iso
from fedikit.core.api.serializers.filters import filtered as filter_results
from fedikit.core.api.serializers.polls import polls_for
from fedikit.core.db import db
from fedikit.core.models import (
    Account,
    Application,
    Bookmark,
    ConversationMute,
    Favourite,
    MediaAttachment,
    Status,
    StatusPin,
)


def _preload(statuses: Sequence[Status]) -> dict[int, Status]:
    """Statuses and the ones they boost, with mentions, tags, media and accounts, in a few queries."""
    ids = {s.id for s in statuses} | {s.reblog_of_id for s in statuses if s.reblog_of_id}
    rows = db.session.scalars(
        select(Status)
        .where(Status.id.in_(ids))
        .options(
            selectinload(Status.mentions),
            selectinload(Status.tags),
            selectinload(Status.media_attachments),
        )
        .execution_options(populate_existing=True)
    )
    loaded = {s.id: s for s in rows}
    account_ids = {m.account_id for s in loaded.values() for m in s.mentions}
    if account_ids:
        list(db.session.scalars(select(Account).where(Account.id.in_(account_ids))))  # into the identity map
    return loaded


class Viewer:
    """What one viewer has done to a set of statuses."""

    def __init__(self, viewer: Account | None, ids: set[int], conversation_ids: set[int]) -> None:
        self.account = viewer
        if viewer is None or not ids:
            self.favourited = self.reblogged = self.bookmarked = self.pinned = self.muted = set()
            return

        def ids_of(column: Any, owner: Any, among: Any, values: set[int]) -> set[int]:
            return set(db.session.scalars(select(column).where(owner == viewer.id, among.in_(values))))

        self.favourited = ids_of(Favourite.status_id, Favourite.account_id, Favourite.status_id, ids)
        self.reblogged = ids_of(Status.reblog_of_id, Status.account_id, Status.reblog_of_id, ids)
        self.bookmarked = ids_of(Bookmark.status_id, Bookmark.account_id, Bookmark.status_id, ids)
        self.pinned = ids_of(StatusPin.status_id, StatusPin.account_id, StatusPin.status_id, ids)
        self.muted = ids_of(
            ConversationMute.conversation_id,
            ConversationMute.account_id,
            ConversationMute.conversation_id,
            conversation_ids,
        )


def statuses(viewer: Account | None, page: Sequence[Status]) -> list[dict[str, Any]]:
    """Status entities for a page of statuses, in their order."""
    if not page:
        return []
    loaded = _preload(page)
    all_ids = set(loaded)
    conversations = {s.conversation_id for s in loaded.values() if s.conversation_id}
    state = Viewer(viewer, all_ids, conversations)
    apps = {
        a.id: a
        for a in db.session.scalars(
            select(Application).where(
                Application.id.in_({s.application_id for s in loaded.values() if s.application_id})
            )
        )
    }
    polls = polls_for(viewer, all_ids)
    return [_status(loaded[s.id], loaded, state, apps, polls) for s in page]


def status(viewer: Account | None, one: Status) -> dict[str, Any]:
    return statuses(viewer, [one])[0]


def _status(
    s: Status,
    loaded: dict[int, Status],
    state: Viewer,
    apps: dict[int, Application],
    polls: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    boosted = loaded.get(s.reblog_of_id) if s.reblog_of_id else None
    inner = _status(boosted, loaded, state, apps, polls) if boosted is not None else None
    own = state.account is not None and s.account_id == state.account.id
    app = apps.get(s.application_id) if s.application_id and s.local else None
    data: dict[str, Any] = {
        "id": str(s.id),
        "created_at": iso(s.created_at),
        "in_reply_to_id": str(s.in_reply_to_id) if s.in_reply_to_id else None,
        "in_reply_to_account_id": str(s.in_reply_to_account_id) if s.in_reply_to_account_id else None,
        "sensitive": s.sensitive,
        "spoiler_text": s.spoiler_text,
        "visibility": s.visibility,
        "language": s.language,
        "uri": s.uri,
        "url": s.url,
        "replies_count": s.replies_count,
        "reblogs_count": s.reblogs_count,
        "favourites_count": s.favourites_count,
        "quotes_count": 0,
        "edited_at": iso(s.edited_at),
        "content": "" if boosted is not None else s.content,
        "reblog": inner,
        "application": {"name": app.name, "website": app.website} if app else None,
        "account": account_entity(s.account),
        "media_attachments": [media_attachment(m) for m in s.media_attachments],
        "mentions": [
            {
                "id": str(m.account.id),
                "username": m.account.username,
                "url": m.account.url or m.account.uri,
                "acct": m.account.acct,
            }
            for m in s.mentions
        ],
        "tags": [{"name": t.name, "url": f"{base_url()}/tags/{t.name}"} for t in s.tags],
        "emojis": [],
        "card": None,
        "poll": polls.get(s.id) if boosted is None else None,
        "quote": None,
        "filtered": filter_results(state, s, boosted),
    }
    if state.account is not None:
        data.update(
            favourited=s.id in state.favourited,
            reblogged=s.id in state.reblogged,
            muted=s.conversation_id in state.muted,
            bookmarked=s.id in state.bookmarked,
        )
        if own:
            data["pinned"] = s.id in state.pinned
    if own and boosted is None:
        data["text"] = s.text
    return data


def media_attachment(m: MediaAttachment) -> dict[str, Any]:
    from fedikit.core.state import current

    store = current().media
    url = store.url(m.file_key) if m.file_key else m.remote_url
    return {
        "id": str(m.id),
        "type": m.type,
        "url": url,
        "preview_url": store.url(m.thumbnail_key) if m.thumbnail_key else url,
        "remote_url": m.remote_url,
        "meta": m.meta or {},
        "description": m.description,
        "blurhash": m.blurhash,
    }
