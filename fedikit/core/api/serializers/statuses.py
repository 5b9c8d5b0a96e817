"""Status, with the viewer's own state (favourited, reblogged, ...) loaded for a whole page at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import literal, select, union_all
from sqlalchemy.orm.attributes import set_committed_value

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
    Mention,
    Status,
    StatusPin,
    Tag,
    status_tags,
)
from fedikit.core.services import emojis


def _preload(statuses: Sequence[Status]) -> dict[int, Status]:
    """The page's statuses and the ones they boost, with mentions, tags, media and accounts: five queries.

    Statuses already in the session are used as they are; only the boosted
    ones the page lacks are loaded, and the collections are filled for all
    of them at once.
    """
    loaded = {s.id: s for s in statuses}
    missing = {s.reblog_of_id for s in statuses if s.reblog_of_id and s.reblog_of_id not in loaded}
    if missing:
        loaded.update((s.id, s) for s in db.session.scalars(select(Status).where(Status.id.in_(missing))))
    ids = list(loaded)
    mentions: dict[int, list[Mention]] = defaultdict(list)
    for mention in db.session.scalars(select(Mention).where(Mention.status_id.in_(ids)).order_by(Mention.id)):
        mentions[mention.status_id].append(mention)
    tags: dict[int, list[Tag]] = defaultdict(list)
    tagged = select(status_tags.c.status_id, Tag).join(Tag, Tag.id == status_tags.c.tag_id)
    for status_id, tag in db.session.execute(tagged.where(status_tags.c.status_id.in_(ids)).order_by(Tag.name)):
        tags[status_id].append(tag)
    media: dict[int, list[MediaAttachment]] = defaultdict(list)
    attached = select(MediaAttachment).where(MediaAttachment.status_id.in_(ids)).order_by(MediaAttachment.id)
    for attachment in db.session.scalars(attached):
        media[attachment.status_id].append(attachment)
    for status_id, one in loaded.items():
        set_committed_value(one, "mentions", mentions.get(status_id, []))
        set_committed_value(one, "tags", tags.get(status_id, []))
        set_committed_value(one, "media_attachments", media.get(status_id, []))
    account_ids = {m.account_id for found in mentions.values() for m in found}
    if account_ids:
        list(db.session.scalars(select(Account).where(Account.id.in_(account_ids))))  # into the identity map
    return loaded


class Viewer:
    """What one viewer has done to a set of statuses: one query for all five kinds."""

    def __init__(self, viewer: Account | None, ids: set[int], conversation_ids: set[int]) -> None:
        self.account = viewer
        self.favourited: set[int] = set()
        self.reblogged: set[int] = set()
        self.bookmarked: set[int] = set()
        self.pinned: set[int] = set()
        self.muted: set[int] = set()
        self.emojis: dict[int, list[dict[str, Any]]] = {}
        if viewer is None or not ids:
            return
        kinds = [
            select(literal("favourited"), Favourite.status_id).where(
                Favourite.account_id == viewer.id, Favourite.status_id.in_(ids)
            ),
            select(literal("reblogged"), Status.reblog_of_id).where(
                Status.account_id == viewer.id, Status.reblog_of_id.in_(ids)
            ),
            select(literal("bookmarked"), Bookmark.status_id).where(
                Bookmark.account_id == viewer.id, Bookmark.status_id.in_(ids)
            ),
            select(literal("pinned"), StatusPin.status_id).where(
                StatusPin.account_id == viewer.id, StatusPin.status_id.in_(ids)
            ),
        ]
        if conversation_ids:
            kinds.append(
                select(literal("muted"), ConversationMute.conversation_id).where(
                    ConversationMute.account_id == viewer.id, ConversationMute.conversation_id.in_(conversation_ids)
                )
            )
        for kind, id_ in db.session.execute(union_all(*kinds)):
            getattr(self, kind).add(id_)


def statuses(viewer: Account | None, page: Sequence[Status]) -> list[dict[str, Any]]:
    """Status entities for a page of statuses, in their order."""
    if not page:
        return []
    loaded = _preload(page)
    all_ids = set(loaded)
    conversations = {s.conversation_id for s in loaded.values() if s.conversation_id}
    state = Viewer(viewer, all_ids, conversations)
    app_ids = {s.application_id for s in loaded.values() if s.application_id and s.local}
    apps = (
        {a.id: a for a in db.session.scalars(select(Application).where(Application.id.in_(app_ids)))} if app_ids else {}
    )
    polls = polls_for(viewer, all_ids)
    state.emojis = emojis.used_by(loaded.values())
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
        "emojis": state.emojis.get(s.id, []),
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
