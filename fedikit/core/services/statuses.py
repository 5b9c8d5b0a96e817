"""Posting, editing, deleting, boosting and favouriting statuses; pins and conversation mutes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from fedikit.core import jobs
from fedikit.core.content import render
from fedikit.core.db import commit_keeping_state, commit_unless_duplicate, db, utcnow
from fedikit.core.errors import FedikitError, Forbidden, NotFound, ValidationError
from fedikit.core.ids import id_at, next_id
from fedikit.core.models import (
    Account,
    Bookmark,
    Conversation,
    ConversationMute,
    Favourite,
    MediaAttachment,
    Mention,
    Status,
    StatusEdit,
    StatusPin,
    Tag,
)
from fedikit.core.sanitize import sanitize_html
from fedikit.core.services import conversations, domain_blocks, polls, timelines
from fedikit.core.services import emojis as custom_emojis
from fedikit.core.services.notifications import notify
from fedikit.core.state import current
from fedikit.core.streaming import publish
from fedikit.core.visibility import PUBLIC_VISIBILITIES, can_see
from fedikit.plugin_api import BackendError, PostDraft, Visibility

log = logging.getLogger("fedikit.statuses")

MAX_MEDIA = 4
MAX_PINS = 5  # Mastodon's StatusPinValidator::PIN_LIMIT


def _check_draft(draft: PostDraft) -> PostDraft:
    """Validate, then run the moderation filters in the admin's order (the first Reject wins)."""
    state = current()
    if not draft.text.strip() and not draft.media_ids:
        raise ValidationError("Validation failed: Text can't be blank")
    limit = state.config["MAX_STATUS_CHARS"]
    if len(draft.text) + len(draft.spoiler_text) > limit:
        raise ValidationError(f"Validation failed: Text character limit of {limit} exceeded")
    if len(draft.media_ids) > MAX_MEDIA:
        raise ValidationError(f"Validation failed: at most {MAX_MEDIA} media attachments")
    for moderation_filter in state.moderation_filters:
        rewritten = moderation_filter.check(draft)
        if rewritten is not None:
            draft = rewritten
    return draft


LANGUAGE_RE = re.compile(r"\A[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8}){0,2}\Z")  # ISO 639 code, optional region
MAX_TAG_LENGTH = 255


def _language(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    if not LANGUAGE_RE.match(value) or len(value) > 16:
        raise ValidationError(f"Validation failed: language {value!r} is not a language code")
    return value


def _visibility(value: str | Visibility) -> Visibility:
    try:
        return Visibility(value)
    except ValueError:
        raise ValidationError(
            f"Validation failed: visibility {value!r} is not one of public, unlisted, private, direct"
        ) from None


def _media(author: Account, media_ids: Sequence[int], status: Status | None = None) -> list[MediaAttachment]:
    if not media_ids:
        return []
    found = {m.id: m for m in db.session.scalars(select(MediaAttachment).where(MediaAttachment.id.in_(media_ids)))}
    media = []
    for media_id in media_ids:
        attachment = found.get(int(media_id))
        if attachment is None or attachment.account_id != author.id:
            raise ValidationError(f"Validation failed: media {media_id} not found")
        if attachment.status_id is not None and (status is None or attachment.status_id != status.id):
            raise ValidationError(f"Validation failed: media {media_id} is already attached to a status")
        media.append(attachment)
    return media


_COUNT_STATUS = (  # built once: every post runs it
    update(Account)
    .where(Account.id == bindparam("account_id"))
    .values(
        statuses_count=Account.statuses_count + 1,
        last_status_at=bindparam("posted_at", type_=Account.last_status_at.type),
        updated_at=bindparam("posted_at", type_=Account.updated_at.type),
    )
    .returning(Account.statuses_count)
    .execution_options(synchronize_session=False)
)


def _count_status(author: Account, *, posted_at: dt.datetime) -> None:
    """One more status for ``author``: counted by the database (concurrent posts each count), the new
    count read back by the same statement rather than by a query when the response shows it."""
    counted = db.session.execute(_COUNT_STATUS, {"account_id": author.id, "posted_at": posted_at}).scalar_one()
    set_committed_value(author, "statuses_count", counted)
    set_committed_value(author, "last_status_at", posted_at)
    set_committed_value(author, "updated_at", posted_at)  # its kept render is keyed by it


_TAG_BY_NAME = select(Tag).where(Tag.name == bindparam("name"))  # built once: every hashtag looks one up


def _tags(names: Sequence[str]) -> list[Tag]:
    """Stored tags for these names, made where missing (over-long names are not tags)."""
    tags = []
    for name in names:
        if len(name) > MAX_TAG_LENGTH:
            continue
        lowered = name.lower()
        tag = db.session.scalar(_TAG_BY_NAME, {"name": lowered})
        if tag is None:
            tag = Tag(name=lowered, display_name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def post(author: Account, text: str, **options: Any) -> Status:
    """A new local status. Raises ValidationError, NotFound (unseen reply target) or Reject.

    Options: ``spoiler_text``, ``sensitive``, ``visibility``, ``language``,
    ``in_reply_to``, ``media_ids``, ``application_id``, ``poll`` (a checked
    :class:`~fedikit.core.services.polls.PollSpec`). Storing is retried
    once when a concurrent post took a unique value first (a new hashtag, or
    an id drawn in the same millisecond by another process).
    """
    try:
        return _post(author, text, **options)
    except IntegrityError:
        db.session.rollback()
        return _post(author, text, **options)


def _post(
    author: Account,
    text: str,
    *,
    spoiler_text: str = "",
    sensitive: bool = False,
    visibility: str | Visibility = Visibility.PUBLIC,
    language: str | None = None,
    in_reply_to: Status | None = None,
    media_ids: Sequence[int] = (),
    application_id: int | None = None,
    poll: polls.PollSpec | None = None,
) -> Status:
    if in_reply_to is not None and not can_see(author, in_reply_to):
        raise NotFound("Record not found")
    if poll is not None and media_ids:
        raise ValidationError("Validation failed: a status with a poll cannot have media attachments")
    draft = _check_draft(
        PostDraft(
            author=author,
            text=text,
            spoiler_text=spoiler_text or "",
            sensitive=bool(sensitive or spoiler_text),
            visibility=_visibility(visibility),
            language=_language(language),
            media_ids=tuple(int(m) for m in media_ids),
            in_reply_to_id=in_reply_to.id if in_reply_to else None,
        )
    )
    media = _media(author, draft.media_ids)  # validated before anything is added to the session
    rendered = render(author, draft.text)
    # Looked up before the status joins the session: a lookup's autoflush would write the status first,
    # and then setting its collections would read them back.
    tags = _tags(rendered.tags)
    mentioned = rendered.mentioned
    status_id = next_id()
    base = current().config["BASE_URL"]
    if in_reply_to is not None and in_reply_to.conversation_id is not None:
        conversation_id = in_reply_to.conversation_id
    else:
        conversation = Conversation(id=next_id())  # its id known now: written with the status, one flush
        db.session.add(conversation)
        conversation_id = conversation.id
    status = Status(
        id=status_id,
        uri=f"{base}/users/{author.username}/statuses/{status_id}",
        url=f"{base}/@{author.username}/{status_id}",
        account_id=author.id,
        local=True,
        text=draft.text,
        content=rendered.html,
        spoiler_text=draft.spoiler_text,
        sensitive=draft.sensitive,
        visibility=draft.visibility.value,
        language=draft.language,
        in_reply_to_id=in_reply_to.id if in_reply_to else None,
        in_reply_to_account_id=in_reply_to.account_id if in_reply_to else None,
        conversation_id=conversation_id,
        application_id=application_id,
    )
    db.session.add(status)
    mentions = [Mention(account=account) for account in mentioned]
    # Only what there is goes through the flush; the rest is known (set below, costing no query later).
    parts: dict[str, Any] = {"media_attachments": media, "tags": tags, "mentions": mentions}
    for name, rows in parts.items():
        if rows:
            setattr(status, name, rows)
    if in_reply_to is not None:
        in_reply_to.replies_count = Status.replies_count + 1
    db.session.flush()
    set_committed_value(status, "account", author)
    for name, rows in parts.items():
        if not rows:
            set_committed_value(status, name, [])
    _count_status(author, posted_at=status.created_at)
    set_committed_value(status, "poll", polls.attach(status, author, poll) if poll is not None else None)
    for mention in status.mentions:
        notify(mention.account, "mention", author, status)
    commit_keeping_state()  # the response, the jobs and the hooks read the status as written
    timelines.distribute(status)
    conversations.status_posted(status)
    current().emit("status_created", status=status)
    return status


_BY_URI = select(Status).where(Status.uri == bindparam("uri"))  # built once: every received object asks


def find_by_uri(uri: str) -> Status | None:
    """A stored status (local or remote) by its protocol id."""
    return db.session.scalar(_BY_URI, {"uri": uri})


MAX_REMOTE_CONTENT = 100_000  # characters of HTML kept from a remote post


def receive(
    author: Account,
    *,
    uri: str,
    content: str,
    url: str | None = None,
    spoiler_text: str = "",
    sensitive: bool = False,
    visibility: str | Visibility = Visibility.PUBLIC,
    language: str | None = None,
    in_reply_to: Status | None = None,
    mentioned: Sequence[Account] = (),
    tags: Sequence[str] = (),
    media: Sequence[Mapping[str, Any]] = (),
    poll: Mapping[str, Any] | None = None,
    emojis: Sequence[Mapping[str, Any]] = (),
    created_at: dt.datetime | None = None,
) -> Status:
    """Store a remote status a protocol plugin received or fetched; the one it already stored, if any.

    ``content`` is the remote HTML: it passes the moderation filters (as
    ``PostDraft.text``, with ``local=False``; a Reject raises) and then the
    one sanitiser. ``uri`` is the status's protocol id and makes receiving
    idempotent. The status is dated ``created_at`` (its id sorts by it),
    mentioned local accounts are notified, and it is distributed to feeds
    and announced (``status_created``) as a local post is.

    ``media``: the attachments (at most :data:`MAX_MEDIA` are kept), each a
    mapping with ``url`` and optionally ``media_type``, ``description``,
    ``blurhash``, ``focus`` (x, y), ``width`` and ``height``. They are kept
    as links to their remote URL (a protocol plugin copies the files with
    :func:`.media.cache_remote`), and not at all from a domain whose media the
    admin rejects. ``poll``: keyword arguments of :func:`.polls.attach_remote`.
    ``emojis``: the custom emojis the post defines (see :func:`.emojis.store_remote`).
    """
    fields = dict(locals())
    stored = receive_many([Incoming(**fields)])[0]
    if isinstance(stored, FedikitError):
        raise stored
    return stored


@dataclasses.dataclass
class Incoming:
    """A remote status for :func:`receive_many`: :func:`receive`'s arguments."""

    author: Account
    uri: str
    content: str
    url: str | None = None
    spoiler_text: str = ""
    sensitive: bool = False
    visibility: str | Visibility = Visibility.PUBLIC
    language: str | None = None
    in_reply_to: Status | None = None
    mentioned: Sequence[Account] = ()
    tags: Sequence[str] = ()
    media: Sequence[Mapping[str, Any]] = ()
    poll: Mapping[str, Any] | None = None
    emojis: Sequence[Mapping[str, Any]] = ()
    created_at: dt.datetime | None = None


def receive_many(received: Sequence[Incoming], *, _retried: bool = False) -> list[Status | FedikitError]:
    """Store many remote statuses as :func:`receive` stores one, in one transaction; for each, its status
    (the one stored before, if any) or why it was refused.

    What they need is read in a few queries for them all (the statuses
    already stored, taken ids) and written in one flush. Should the commit
    fail on a unique value written meanwhile by another process (the same
    status delivered twice at once, a new hashtag), each is stored again on
    its own.
    """
    results: list[Status | FedikitError | None] = [None] * len(received)
    new: list[tuple[Status, Incoming]] = []
    try:  # (a query may flush what is added before it: a unique value can clash anywhere from here)
        uris = list(dict.fromkeys(item.uri for item in received))
        known = {s.uri: s for s in db.session.scalars(select(Status).where(Status.uri.in_(uris)))} if uris else {}
        for n, item in enumerate(received):
            try:
                _may_receive(item.author)
                results[n] = known.get(item.uri) or _received(item)
            except FedikitError as exc:
                results[n] = exc
                continue
            status = results[n]
            if isinstance(status, Status) and item.uri not in known:
                known[item.uri] = status  # the same status twice in one batch: stored once
                new.append((status, item))
        if new:
            _free_ids([status for status, _ in new])
            _count([item for _, item in new])
            db.session.flush()
            for status, item in new:
                if item.poll is not None and item.poll.get("options"):
                    polls.attach_remote(status, item.author, **item.poll)
                for mention in status.mentions:
                    if mention.account.local:
                        notify(mention.account, "mention", item.author, status)
            commit_keeping_state()  # the hooks and jobs read the statuses as written (no read-back per attribute)
    except IntegrityError:  # delivered (or fetched) twice at once, or a new hashtag stored meanwhile
        db.session.rollback()
        if _retried:
            raise
        return [_stored_alone(item) for item in received]
    for status, _ in new:  # every status's follow-ups queued before any plugin hears of one (which may take time)
        timelines.distribute(status)
        conversations.status_posted(status)
    for status, _ in new:
        current().emit("status_created", status=status)
    return [result for result in results if result is not None]  # (each is set)


def _stored_alone(item: Incoming) -> Status | FedikitError:
    """``item`` after a batch that failed on a unique value: stored by someone else, or stored now on its own."""
    stored = find_by_uri(item.uri)
    return stored if stored is not None else receive_many([item], _retried=True)[0]


def _may_receive(author: Account) -> None:
    if author.local:
        raise ValidationError("Validation failed: a received status must have a remote author")
    if author.suspended_at is not None or domain_blocks.policy(author.domain).suspended:
        raise Forbidden("This action is not allowed")


def _received(item: Incoming) -> Status:
    """A new status for ``item`` (added to the session, not yet flushed); raises what refuses it."""
    author = item.author
    in_reply_to = item.in_reply_to
    language = item.language
    draft = PostDraft(
        author=author,
        text=item.content[:MAX_REMOTE_CONTENT],
        spoiler_text=item.spoiler_text,
        sensitive=bool(item.sensitive or item.spoiler_text),
        visibility=_visibility(item.visibility),
        language=language if language and LANGUAGE_RE.match(language) and len(language) <= 16 else None,
        in_reply_to_id=in_reply_to.id if in_reply_to else None,
        local=False,
    )
    for moderation_filter in current().moderation_filters:
        rewritten = moderation_filter.check(draft)
        if rewritten is not None:
            draft = rewritten
    if in_reply_to is not None and in_reply_to.conversation_id is not None:
        conversation_id = in_reply_to.conversation_id
    else:
        conversation = Conversation(id=next_id())  # its id known now: written with the status, one flush
        db.session.add(conversation)
        conversation_id = conversation.id
    status = Status(
        id=id_at(item.created_at) if item.created_at is not None else next_id(),
        uri=item.uri,
        url=item.url or item.uri,
        account=author,
        local=False,
        content=sanitize_html(draft.text),
        spoiler_text=draft.spoiler_text,
        sensitive=draft.sensitive,
        visibility=draft.visibility.value,
        language=draft.language,
        in_reply_to_id=in_reply_to.id if in_reply_to else None,
        in_reply_to_account_id=in_reply_to.account_id if in_reply_to else None,
        conversation_id=conversation_id,
    )
    if item.created_at is not None:
        status.created_at = item.created_at
    status.tags = _tags(list(dict.fromkeys(item.tags)))
    status.mentions = [Mention(account=account) for account in dict.fromkeys(item.mentioned)]
    if not domain_blocks.policy(author.domain).reject_media:
        status.media_attachments = [_remote_media(author, m) for m in item.media[:MAX_MEDIA]]
        custom_emojis.store_remote(author.domain, item.emojis)
    return status


def _count(new: Sequence[Incoming]) -> None:
    """Count new statuses in their authors' and parents' counters: one addition each for all of a batch."""
    authors = Counter(item.author for item in new)
    for author, posted in authors.items():
        author.statuses_count = Account.statuses_count + posted
        author.last_status_at = utcnow()
    for parent, replies in Counter(item.in_reply_to for item in new if item.in_reply_to is not None).items():
        parent.replies_count = Status.replies_count + replies


def _free_ids(new: Sequence[Status]) -> None:
    """Draw again the ids of new statuses (dated by their senders, see ``id_at``) that stored ones hold: one query
    for them all (and one more for any drawn again)."""
    while True:
        wanted = {status.id: status for status in new}
        taken = set(db.session.scalars(select(Status.id).where(Status.id.in_(wanted))))
        if not taken and len(wanted) == len(new):
            break
        seen: set[int] = set()
        for status in new:
            if status.id in taken or status.id in seen:  # held by a stored status, or by another new one
                status.id = id_at(status.created_at) if status.created_at is not None else next_id()
            seen.add(status.id)
    for status in new:
        db.session.add(status)


KEEP: Literal["keep"] = "keep"


def edit(
    editor: Account,
    status: Status,
    text: str,
    *,
    spoiler_text: str = "",
    sensitive: bool = False,
    language: str | None = None,
    media_ids: Sequence[int] | None = None,
    poll: polls.PollSpec | None | Literal["keep"] = KEEP,
) -> Status:
    """Change a status; keeps every version in ``status.edits``.

    ``media_ids=None`` and ``poll=KEEP`` leave those as they are; the API
    passes both explicitly, as Mastodon treats an edit as the whole new state
    (no ``poll`` removes the poll). New poll options reset its votes. An edit
    that changes nothing stores no version.
    """
    if status.account_id != editor.id:
        raise Forbidden("This action is not allowed")
    if status.reblog_of_id is not None:
        raise ValidationError("Validation failed: a reblog cannot be edited")
    media_ids = [m.id for m in status.media_attachments] if media_ids is None else [int(m) for m in media_ids]
    existing = polls.for_status(status.id)
    keep_poll = poll is KEEP
    wanted = None if isinstance(poll, str) else poll
    if (existing is not None if keep_poll else wanted is not None) and media_ids:
        raise ValidationError("Validation failed: a status with a poll cannot have media attachments")
    draft = _check_draft(
        PostDraft(
            author=editor,
            text=text,
            spoiler_text=spoiler_text or "",
            sensitive=bool(sensitive or spoiler_text),
            visibility=Visibility(status.visibility),
            language=_language(language) or status.language,
            media_ids=tuple(media_ids),
            in_reply_to_id=status.in_reply_to_id,
        )
    )
    media = _media(editor, draft.media_ids, status)
    poll_changes = not keep_poll and (wanted is not None or existing is not None)
    unchanged = (
        draft.text == status.text
        and draft.spoiler_text == status.spoiler_text
        and draft.sensitive == status.sensitive
        and draft.language == status.language
        and [m.id for m in media] == [m.id for m in status.media_attachments]
        and not poll_changes
    )
    if unchanged:
        return status
    if not status.edits:  # the original version, dated when it was posted
        status.edits.append(_snapshot(status, existing.options if existing else None, at=status.created_at))
    rendered = render(editor, draft.text)
    status.text = draft.text
    status.content = rendered.html
    status.spoiler_text = draft.spoiler_text
    status.sensitive = draft.sensitive
    status.language = draft.language
    status.media_attachments = media
    status.tags = _tags(rendered.tags)
    if keep_poll:
        pass
    elif wanted is not None and existing is not None:
        polls.replace(existing, wanted)
    elif wanted is not None:
        existing = polls.attach(status, editor, wanted)
    elif existing is not None:
        db.session.delete(existing)  # its votes go with it (ON DELETE CASCADE)
        existing = None
    set_committed_value(status, "poll", existing)  # what the status now has, for whoever reads it next
    _mention_new(status, editor, rendered.mentioned)
    return _edited(status, editor, existing.options if existing is not None else None)


def _mention_new(status: Status, editor: Account, accounts: Sequence[Account]) -> None:
    """Mention (and notify, if local) the accounts an edit names that the status did not."""
    known = {m.account_id for m in status.mentions}
    for account in accounts:
        if account.id not in known:
            status.mentions.append(Mention(account=account))
            if account.local:
                notify(account, "mention", editor, status)


def _edited(status: Status, editor: Account, poll_options: Sequence[str] | None, at: Any = None) -> Status:
    """Finish an edit: date it, keep the new version, tell those who boosted it; commit and announce."""
    status.edited_at = at or utcnow()
    status.edits.append(_snapshot(status, poll_options, at=status.edited_at))
    boosters = db.session.scalars(
        select(Account).join(Status, Status.account_id == Account.id).where(Status.reblog_of_id == status.id)
    )
    for booster in boosters:
        if booster.local:
            notify(booster, "update", editor, status)
    db.session.commit()
    jobs.enqueue("core.index_status", status_id=status.id)
    publish.status_published(status, edited=True)
    current().emit("status_updated", status=status)
    return status


def receive_edit(
    author: Account,
    status: Status,
    *,
    content: str,
    spoiler_text: str = "",
    sensitive: bool = False,
    language: str | None = None,
    mentioned: Sequence[Account] = (),
    tags: Sequence[str] = (),
    poll: Mapping[str, Any] | None = None,
    emojis: Sequence[Mapping[str, Any]] = (),
    edited_at: dt.datetime | None = None,
) -> Status:
    """Apply a remote author's edit of their status (content is remote HTML, sanitised here).

    ``poll`` (``tallies``, ``voters_count``, ``expires_at``) refreshes the
    counts of the status's poll whether or not the text changed: servers send
    an Update to report new counts.

    Versions are kept as for a local edit. An edit dated no later than the
    one already applied is ignored (edits may arrive out of order), as is one
    that changes nothing.
    """
    if status.account_id != author.id or status.local or status.reblog_of_id is not None:
        raise Forbidden("This action is not allowed")
    existing = polls.for_status(status.id)
    if existing is not None and poll is not None:
        polls.refresh_remote(existing, poll.get("tallies", ()), poll.get("voters_count"), poll.get("expires_at"))
        db.session.commit()
    if edited_at is not None and status.edited_at is not None and edited_at <= status.edited_at:
        return status
    content = sanitize_html(content[:MAX_REMOTE_CONTENT])
    spoiler_text = spoiler_text or ""
    sensitive = bool(sensitive or spoiler_text)
    language = language if language and LANGUAGE_RE.match(language) and len(language) <= 16 else status.language
    unchanged = (content, spoiler_text, sensitive, language) == (
        status.content,
        status.spoiler_text,
        status.sensitive,
        status.language,
    )
    if unchanged:
        return status
    if not status.edits:  # the original version, dated when it was posted
        status.edits.append(_snapshot(status, existing.options if existing else None, at=status.created_at))
    status.content = content
    status.spoiler_text = spoiler_text
    status.sensitive = sensitive
    status.language = language
    status.tags = _tags(list(dict.fromkeys(tags)))
    if not domain_blocks.policy(author.domain).reject_media:
        custom_emojis.store_remote(author.domain, emojis)
    _mention_new(status, author, list(dict.fromkeys(mentioned)))
    return _edited(status, author, existing.options if existing is not None else None, at=edited_at)


def _remote_media(author: Account, found: Mapping[str, Any]) -> MediaAttachment:
    media_type = str(found.get("media_type") or "")
    kind = media_type.partition("/")[0]
    meta: dict[str, Any] = {}
    if found.get("width") and found.get("height"):
        meta["original"] = {"width": found["width"], "height": found["height"]}
    if found.get("focus"):
        meta["focus"] = {"x": found["focus"][0], "y": found["focus"][1]}
    return MediaAttachment(
        account_id=author.id,
        type=kind if kind in ("image", "video", "audio") else "unknown",
        content_type=media_type or None,
        remote_url=str(found["url"]),
        description=found.get("description"),
        blurhash=found.get("blurhash"),
        meta=meta,
    )


def _snapshot(status: Status, poll_options: Sequence[str] | None = None, at: Any = None) -> StatusEdit:
    return StatusEdit(
        account_id=status.account_id,
        text=status.text,
        content=status.content,
        spoiler_text=status.spoiler_text,
        sensitive=status.sensitive,
        media_attachment_ids=[m.id for m in status.media_attachments],
        poll_options=list(poll_options) if poll_options is not None else None,
        created_at=at or utcnow(),
    )


def delete(actor: Account, status: Status) -> Status:
    """Remove a status (and boosts of it); returns a detached copy that keeps its source text."""
    if status.account_id != actor.id:
        raise Forbidden("This action is not allowed")
    if status.reblog_of_id is not None:
        raise ValidationError("Validation failed: undo a reblog with unreblog")
    removed = _remove(status)
    current().emit("status_deleted", status=removed)
    return removed


def remove_all_of(account: Account) -> int:
    """Remove every status of ``account`` (its server deleted it), boosts first; how many were removed."""
    removed = 0
    for status_id in list(
        db.session.scalars(select(Status.id).where(Status.account_id == account.id).order_by(Status.reblog_of_id))
    ):
        status = db.session.get(Status, status_id)
        if status is not None:  # a boost may have gone with the status it boosted
            _remove(status)
            removed += 1
    return removed


def _remove(status: Status) -> Status:
    state = current()
    feeds = timelines.feeds_for(status) if state.feeds.precomputed else []
    reblogs = list(db.session.scalars(select(Status).where(Status.reblog_of_id == status.id)))
    reblog_feeds = {r.id: timelines.feeds_for(r) if state.feeds.precomputed else [] for r in reblogs}
    live = {status.id: publish.removal_channels(status, feeds or None)}
    live.update({r.id: publish.removal_channels(r, reblog_feeds[r.id] or None) for r in reblogs})
    _load_for_detach(status, *reblogs)
    lost = Counter([status.account_id, *(r.account_id for r in reblogs)])  # a self-boost counts twice
    if status.in_reply_to_id is not None:
        parent = db.session.get(Status, status.in_reply_to_id)
        if parent is not None:
            parent.replies_count = _decrement(Status.replies_count)
    if status.reblog_of_id is not None:
        original = db.session.get(Status, status.reblog_of_id)
        if original is not None:
            original.reblogs_count = _decrement(Status.reblogs_count)
    for reblog in reblogs:
        db.session.delete(reblog)
    conversations.status_removed(status)
    db.session.delete(status)
    for account_id, count in lost.items():
        db.session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(statuses_count=_decrement(Account.statuses_count, count))
        )
    db.session.commit()
    # Boosts of a deleted status go with it; peers drop them when they get the delete.
    for reblog in reblogs:
        timelines.withdraw(reblog.id, reblog_feeds[reblog.id])
    timelines.withdraw(status.id, feeds)
    for status_id, channels in live.items():
        publish.status_deleted(status_id, channels)
    return status


def _decrement(column: Any, by: int = 1) -> Any:
    """``column - by``, never below zero, in SQL (so concurrent changes are not lost)."""
    greatest = func.max if db.engine.dialect.name == "sqlite" else func.greatest
    return greatest(column - by, 0)


def _load_for_detach(*statuses: Status) -> None:
    """Load what a detached copy will be read for after deletion, so it stays readable."""
    for status in statuses:
        _ = (status.account.username, status.text, status.uri, status.mentions, status.tags)
        _ = status.media_attachments


def reblog(
    account: Account, status: Status, *, visibility: str | Visibility = Visibility.PUBLIC, uri: str | None = None
) -> Status:
    """Boost ``status``; boosting twice returns the existing boost.

    ``uri`` is the protocol id of a remote account's boost (required for one).
    """
    if not account.local and not uri:
        raise ValidationError("Validation failed: a remote boost needs its uri")
    if status.reblog_of_id is not None:
        status = db.session.get(Status, status.reblog_of_id)
    if not can_see(account, status):
        raise NotFound("Record not found")
    own_private = status.visibility == Visibility.PRIVATE.value and status.account_id == account.id
    if status.visibility not in PUBLIC_VISIBILITIES and not own_private:
        raise Forbidden("This action is not allowed")
    existing = db.session.scalar(
        select(Status).where(Status.account_id == account.id, Status.reblog_of_id == status.id)
    )
    if existing is not None:
        return existing
    chosen = _visibility(visibility)
    if chosen is Visibility.DIRECT or own_private:
        chosen = Visibility.PRIVATE
    reblog_id = next_id()
    base = current().config["BASE_URL"]
    boost = Status(
        id=reblog_id,
        uri=uri if not account.local else f"{base}/users/{account.username}/statuses/{reblog_id}/activity",
        account=account,
        local=account.local,
        reblog_of_id=status.id,
        visibility=chosen.value,
    )
    db.session.add(boost)
    status.reblogs_count = Status.reblogs_count + 1
    account.statuses_count = Account.statuses_count + 1
    notify(status.account, "reblog", account, status)
    if not commit_unless_duplicate():  # a double tap: the other request stored it first
        return db.session.scalar(
            select(Status).where(Status.account_id == account.id, Status.reblog_of_id == status.id)
        )
    timelines.distribute(boost)
    current().emit("reblogged", reblog=boost)
    return boost


def unreblog(account: Account, status: Status) -> Status | None:
    """Undo ``account``'s boost of ``status``; None when there was none."""
    boost = db.session.scalar(select(Status).where(Status.account_id == account.id, Status.reblog_of_id == status.id))
    if boost is None:
        return None
    removed = _remove(boost)
    current().emit("unreblogged", reblog=removed)
    return removed


def favourite(account: Account, status: Status, *, uri: str | None = None) -> Favourite:
    """``account`` favourites ``status`` (``uri``: the protocol id of a remote account's favourite)."""
    if not can_see(account, status):
        raise NotFound("Record not found")
    existing = db.session.scalar(
        select(Favourite).where(Favourite.account_id == account.id, Favourite.status_id == status.id)
    )
    if existing is not None:
        return existing
    fav = Favourite(account_id=account.id, status=status, uri=uri)
    db.session.add(fav)
    status.favourites_count = Status.favourites_count + 1
    notify(status.account, "favourite", account, status)
    if not commit_unless_duplicate():  # a double tap: the other request stored it first
        return db.session.scalar(
            select(Favourite).where(Favourite.account_id == account.id, Favourite.status_id == status.id)
        )
    current().emit("favourited", account=account, status=status)
    return fav


def unfavourite(account: Account, status: Status) -> bool:
    fav = db.session.scalar(
        select(Favourite).where(Favourite.account_id == account.id, Favourite.status_id == status.id)
    )
    if fav is None:
        return False
    db.session.delete(fav)
    status.favourites_count = _decrement(Status.favourites_count)
    db.session.commit()
    current().emit("unfavourited", account=account, status=status)
    return True


def bookmark(account: Account, status: Status) -> None:
    """Keep ``status`` in ``account``'s bookmarks (private: no event, nothing federated)."""
    if not can_see(account, status):
        raise NotFound("Record not found")
    db.session.add(Bookmark(account_id=account.id, status_id=status.id))
    commit_unless_duplicate()  # already bookmarked: nothing to do


def unbookmark(account: Account, status: Status) -> None:
    db.session.execute(sql_delete(Bookmark).where(Bookmark.account_id == account.id, Bookmark.status_id == status.id))
    db.session.commit()


def pin(account: Account, status: Status) -> None:
    """Feature ``status`` on ``account``'s profile: own, not a boost, not direct, at most five (422 otherwise)."""
    if status.reblog_of_id is not None:
        raise ValidationError("Validation failed: a boost cannot be pinned")
    if status.account_id != account.id:
        raise ValidationError("Validation failed: only your own posts can be pinned")
    if status.visibility == Visibility.DIRECT.value:
        raise ValidationError("Validation failed: direct posts cannot be pinned")
    db.session.scalar(select(Account.id).where(Account.id == account.id).with_for_update())  # one pin at a time
    if db.session.scalar(select(exists().where(StatusPin.account_id == account.id, StatusPin.status_id == status.id))):
        return
    pinned = db.session.scalar(select(func.count()).select_from(StatusPin).where(StatusPin.account_id == account.id))
    if (pinned or 0) >= MAX_PINS and account.local:  # another server's limits are its own
        raise ValidationError(f"Validation failed: at most {MAX_PINS} posts can be pinned")
    db.session.add(StatusPin(account_id=account.id, status_id=status.id))
    if commit_unless_duplicate():  # else a double tap: the other request pinned it first
        current().emit("pinned", account=account, status=status)


def pinned_by(account: Account) -> list[Status]:
    """Every status ``account`` pinned, most recently pinned first."""
    query = (
        select(Status)
        .join(StatusPin, StatusPin.status_id == Status.id)
        .where(StatusPin.account_id == account.id)
        .order_by(StatusPin.id.desc())
    )
    return list(db.session.scalars(query))


def unpin(account: Account, status: Status) -> None:
    removed = db.session.execute(
        sql_delete(StatusPin).where(StatusPin.account_id == account.id, StatusPin.status_id == status.id)
    )
    db.session.commit()
    if removed.rowcount:
        current().emit("unpinned", account=account, status=status)


def participates(account: Account, conversation_id: int) -> bool:
    """Whether ``account`` wrote or was mentioned in a status of this conversation."""
    wrote = exists().where(Status.conversation_id == conversation_id, Status.account_id == account.id)
    mentioned = exists().where(
        Mention.account_id == account.id,
        Mention.status_id == Status.id,
        Status.conversation_id == conversation_id,
    )
    return bool(db.session.scalar(select(wrote | mentioned)))


def mute_conversation(account: Account, status: Status) -> None:
    """No more notifications from this status's thread for ``account``; only for a participant (else 422)."""
    if status.conversation_id is None or not participates(account, status.conversation_id):
        raise ValidationError("Validation failed: you do not take part in this conversation")
    db.session.add(ConversationMute(account_id=account.id, conversation_id=status.conversation_id))
    try:
        db.session.commit()
    except IntegrityError:  # already muted
        db.session.rollback()


def unmute_conversation(account: Account, status: Status) -> None:
    if status.conversation_id is None or not participates(account, status.conversation_id):
        raise ValidationError("Validation failed: you do not take part in this conversation")
    db.session.execute(
        sql_delete(ConversationMute).where(
            ConversationMute.account_id == account.id, ConversationMute.conversation_id == status.conversation_id
        )
    )
    db.session.commit()


class IdempotencyKeys:
    """``Idempotency-Key`` -> what the first request with it made, per account, for an hour (as Mastodon).

    Kept in the cache backend: with Redis, every web process recognises a
    retry. Requests with the same key wait for each other within a process,
    so a double tap cannot post twice there; two requests reaching two
    processes in the same instant may both post, as in Mastodon. If the
    cache cannot be reached the post goes through unguarded (and the log
    says so): posting must not depend on the cache.
    """

    TTL = 3600
    STRIPES = 64

    def __init__(self) -> None:
        self._stripes = [threading.Lock() for _ in range(self.STRIPES)]

    @staticmethod
    def _name(account_id: int, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()  # bounded size per entry
        return f"idempotency:{account_id}:{digest}"

    @contextmanager
    def hold(self, account_id: int, key: str) -> Iterator[None]:
        """Serialise requests carrying the same key (a fixed set of locks: bounded memory)."""
        with self._stripes[hash(self._name(account_id, key)) % self.STRIPES]:
            yield

    def get(self, account_id: int, key: str) -> tuple[str, int] | None:
        """``(kind, id)`` remembered for this key, ``kind`` being ``status`` or ``scheduled_status``."""
        try:
            found = current().cache.get(self._name(account_id, key))
        except BackendError:
            log.warning("Idempotency-Key not checked: the cache is unavailable", exc_info=True)
            return None
        kind, _, object_id = (found or "").partition(":")
        return (kind, int(object_id)) if object_id.isdigit() else None

    def put(self, account_id: int, key: str, kind: str, object_id: int) -> None:
        try:
            current().cache.set(self._name(account_id, key), f"{kind}:{object_id}", self.TTL)
        except BackendError:
            log.warning("Idempotency-Key not kept: the cache is unavailable", exc_info=True)


IDEMPOTENCY = IdempotencyKeys()
