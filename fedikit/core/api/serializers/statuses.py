"""Status, with the viewer's own state (favourited, reblogged, ...) loaded for a whole page at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import bindparam, inspect, literal, select, union_all
from sqlalchemy.orm.attributes import set_committed_value

from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.common import base_url, iso
from fedikit.core.api.serializers.filters import filtered as filter_results
from fedikit.core.api.serializers.polls import polls_for
from fedikit.core.db import among, db
from fedikit.core.models import (
    Account,
    Application,
    Bookmark,
    ConversationMute,
    Favourite,
    MediaAttachment,
    Mention,
    Poll,
    Status,
    StatusPin,
    Tag,
    status_tags,
)
from fedikit.core.renders import key_for
from fedikit.core.services import emojis
from fedikit.core.services import filters as filter_service
from fedikit.core.state import current

_VIEWER = bindparam("viewer")
_VIEWER_STATE = union_all(
    select(literal("favourited"), Favourite.status_id).where(
        Favourite.account_id == _VIEWER, among(Favourite.status_id, "ids")
    ),
    select(literal("reblogged"), Status.reblog_of_id).where(
        Status.account_id == _VIEWER, among(Status.reblog_of_id, "ids")
    ),
    select(literal("bookmarked"), Bookmark.status_id).where(
        Bookmark.account_id == _VIEWER, among(Bookmark.status_id, "ids")
    ),
    select(literal("pinned"), StatusPin.status_id).where(
        StatusPin.account_id == _VIEWER, among(StatusPin.status_id, "ids")
    ),
    select(literal("muted"), ConversationMute.conversation_id).where(
        ConversationMute.account_id == _VIEWER, among(ConversationMute.conversation_id, "conversations")
    ),
)
# What a page needs, each statement built once: building one and its cache key costs more than running it.
_BY_IDS = select(Status).where(among(Status.id, "ids"))
_MENTIONS = select(Mention).where(among(Mention.status_id, "ids")).order_by(Mention.id)
_ACCOUNTS = select(Account).where(among(Account.id, "ids"))
_TAGS = (
    select(status_tags.c.status_id, Tag)
    .join(Tag, Tag.id == status_tags.c.tag_id)
    .where(among(status_tags.c.status_id, "ids"))
    .order_by(Tag.name)
)
_MEDIA = select(MediaAttachment).where(among(MediaAttachment.status_id, "ids")).order_by(MediaAttachment.id)
_POLLS = select(Poll.status_id).where(among(Poll.status_id, "ids"))


class _Base(NamedTuple):
    """What a Status entity is whoever reads it (kept in ``Renders``), and whether it carries a poll."""

    fields: dict[str, Any]
    has_poll: bool


def _with_boosted(statuses: Sequence[Status]) -> dict[int, Status]:
    """The page's statuses and the ones they boost (one query for those the session lacks)."""
    loaded = {s.id: s for s in statuses}
    for s in statuses:
        held = inspect(s).dict.get("reblog") if s.reblog_of_id else None  # set by the timeline's load
        if held is not None:
            loaded.setdefault(held.id, held)
    missing = {s.reblog_of_id for s in statuses if s.reblog_of_id and s.reblog_of_id not in loaded}
    if missing:
        loaded.update((s.id, s) for s in db.session.scalars(_BY_IDS, {"ids": list(missing)}))
    return loaded


def _bases(statuses: Sequence[Status]) -> dict[int, _Base]:
    """Each status's viewer-independent part: kept renders, the others made now in a fixed number of queries."""
    renders = current().renders
    bases: dict[int, _Base] = {}
    missing = []
    for one in statuses:
        found = renders.get(key_for(one))
        if found is None:
            missing.append(one)
        else:
            bases[one.id] = found
    if missing:
        for one, base in zip(missing, _render(missing), strict=True):
            renders.put(key_for(one), base)
            bases[one.id] = base
    return bases


def _with_media(statuses: Sequence[Status]) -> dict[int, list[MediaAttachment]]:
    """Each status's media, loaded in one query and set as its ``media_attachments``."""
    media: dict[int, list[MediaAttachment]] = {s.id: [] for s in statuses}
    if not media:
        return media
    for attachment in db.session.scalars(_MEDIA, {"ids": list(media)}):
        media[attachment.status_id].append(attachment)
    for s in statuses:
        set_committed_value(s, "media_attachments", media[s.id])
    return media


def _render(statuses: Sequence[Status]) -> list[_Base]:
    """Render: mentions, tags, media, polls, applications and emojis for all at once."""
    ids = [s.id for s in statuses]
    # Collections the session holds already (a status just posted) are used as they are.
    held = {s.id: inspect(s).dict for s in statuses}
    mentions: dict[int, list[Mention]] = defaultdict(list)
    unheld = [id_ for id_ in ids if "mentions" not in held[id_]]
    for mention in db.session.scalars(_MENTIONS, {"ids": unheld}) if unheld else ():
        mentions[mention.status_id].append(mention)
    account_ids = {m.account_id for found in mentions.values() for m in found}
    if account_ids:
        list(db.session.scalars(_ACCOUNTS, {"ids": list(account_ids)}))  # into the identity map
    for id_ in ids:
        if "mentions" in held[id_]:
            mentions[id_] = list(held[id_]["mentions"])
    tags: dict[int, list[Tag]] = defaultdict(list)
    unheld = [id_ for id_ in ids if "tags" not in held[id_]]
    for status_id, tag in db.session.execute(_TAGS, {"ids": unheld}) if unheld else ():
        tags[status_id].append(tag)
    for id_ in ids:
        if "tags" in held[id_]:
            tags[id_] = sorted(held[id_]["tags"], key=lambda t: t.name)
    media = _with_media([s for s in statuses if "media_attachments" not in held[s.id]])
    for s in statuses:
        if "media_attachments" in held[s.id]:
            media[s.id] = sorted(held[s.id]["media_attachments"], key=lambda m: m.id)
    with_poll = {id_ for id_ in ids if held[id_].get("poll") is not None}
    unheld = [id_ for id_ in ids if "poll" not in held[id_]]
    if unheld:
        with_poll.update(db.session.scalars(_POLLS, {"ids": unheld}))
    apps = {id_: _application(id_) for id_ in {s.application_id for s in statuses if s.application_id and s.local}}
    used = emojis.used_by(statuses)
    tag_url = f"{base_url()}/tags/"
    out = []
    for s in statuses:
        app = apps.get(s.application_id) if s.application_id and s.local else None
        fields: dict[str, Any] = {
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
            "content": "" if s.reblog_of_id else s.content,
            "reblog": None,  # the places of the parts that are the viewer's (see _status)
            "application": app,
            "account": None,
            "media_attachments": [media_attachment(m) for m in media[s.id]],
            "mentions": [
                {
                    "id": str(m.account.id),
                    "username": m.account.username,
                    "url": m.account.url or m.account.uri,
                    "acct": m.account.acct,
                }
                for m in mentions.get(s.id, [])
            ],
            "tags": [{"name": t.name, "url": tag_url + t.name} for t in tags.get(s.id, [])],
            "emojis": used.get(s.id, []),
            "card": None,
            "poll": None,
            "quote": None,
            "filtered": [],
        }
        out.append(_Base(fields, s.id in with_poll and not s.reblog_of_id))
    return out


def _application(app_id: int) -> dict[str, Any] | None:
    """The ``application`` field: the app's name and website. Kept (``Renders``): apps are never changed, and a
    deleted one's name shows for at most a render's age."""
    renders = current().renders
    key = ("oauth_applications", app_id)
    found = renders.get(key)
    if found is None:
        app = db.session.get(Application, app_id)
        found = {"name": app.name, "website": app.website} if app is not None else {}
        renders.put(key, found)
    return found or None


class Viewer:
    """What one viewer has done to a set of statuses: one query for all five kinds."""

    def __init__(
        self, viewer: Account | None, ids: set[int], conversation_ids: set[int], *, known: bool = False
    ) -> None:
        self.account = viewer
        self.favourited: set[int] = set()
        self.reblogged: set[int] = set()
        self.bookmarked: set[int] = set()
        self.pinned: set[int] = set()
        self.muted: set[int] = set()
        self.filters = filter_service.active(viewer)
        if viewer is None or not ids or known:
            return
        params = {"viewer": viewer.id, "ids": list(ids), "conversations": list(conversation_ids)}
        for kind, id_ in db.session.execute(_VIEWER_STATE, params):
            getattr(self, kind).add(id_)


def statuses(viewer: Account | None, page: Sequence[Status], *, just_posted: bool = False) -> list[dict[str, Any]]:
    """Status entities for a page of statuses, in their order.

    The parts that are the same for every reader come from ``Renders`` (see
    fedikit.core.renders); the viewer's own (favourited, reblogged, muted,
    bookmarked, pinned, the source text, poll votes, filter results) are
    loaded for the whole page at once and set on a copy.

    ``just_posted``: the viewer made ``page`` in this request. No one can have
    favourited, boosted, bookmarked or pinned it yet, and a new thread cannot
    be muted: the viewer's state is known without a query (a reply's thread
    may be muted, so replies still ask).
    """
    if not page:
        return []
    loaded = _with_boosted(page)
    bases = _bases(list(loaded.values()))
    conversations = {s.conversation_id for s in loaded.values() if s.conversation_id}
    known = just_posted and not any(s.in_reply_to_id for s in loaded.values())
    state = Viewer(viewer, set(loaded), conversations, known=known)
    if any(rule.pattern is not None for rule in state.filters):  # keywords are matched in media descriptions too
        _with_media([s for s in loaded.values() if "media_attachments" not in inspect(s).dict])
    polls = polls_for(viewer, [id_ for id_, base in bases.items() if base.has_poll])
    return [_status(loaded[s.id], loaded, bases, state, polls) for s in page]


def status(viewer: Account | None, one: Status, *, just_posted: bool = False) -> dict[str, Any]:
    return statuses(viewer, [one], just_posted=just_posted)[0]


def _status(
    s: Status,
    loaded: dict[int, Status],
    bases: dict[int, _Base],
    state: Viewer,
    polls: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    boosted = loaded.get(s.reblog_of_id) if s.reblog_of_id else None
    data = dict(bases[s.id].fields)
    data["account"] = account_entity(s.account)
    if boosted is not None:
        data["reblog"] = _status(boosted, loaded, bases, state, polls)
    else:
        data["poll"] = polls.get(s.id)
    data["filtered"] = filter_results(state.filters, s, boosted)
    if state.account is not None:
        own = s.account_id == state.account.id
        data.update(
            favourited=s.id in state.favourited,
            reblogged=s.id in state.reblogged,
            muted=s.conversation_id in state.muted,
            bookmarked=s.id in state.bookmarked,
        )
        if own:
            data["pinned"] = s.id in state.pinned
            if boosted is None:
                data["text"] = s.text
    return data


def media_attachment(m: MediaAttachment) -> dict[str, Any]:
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
