"""Posting, editing, deleting, boosting and favouriting statuses."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from fedikit.core import jobs
from fedikit.core.content import render
from fedikit.core.db import db, utcnow
from fedikit.core.errors import Forbidden, NotFound, ValidationError
from fedikit.core.ids import next_id
from fedikit.core.models import (
    Account,
    Bookmark,
    Conversation,
    Favourite,
    MediaAttachment,
    Mention,
    Status,
    StatusEdit,
    Tag,
)
from fedikit.core.services import timelines
from fedikit.core.services.notifications import notify
from fedikit.core.state import current
from fedikit.core.visibility import PUBLIC_VISIBILITIES, can_see
from fedikit.plugin_api import PostDraft, Visibility

MAX_MEDIA = 4


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


def _accounts(ids: Sequence[int]) -> list[Account]:
    """The accounts a renderer said it mentioned, in order; ids it made up are ignored."""
    found = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}
    return [found[i] for i in dict.fromkeys(ids) if i in found]


def _tags(names: Sequence[str]) -> list[Tag]:
    """Stored tags for these names, made where missing (over-long names are not tags)."""
    tags = []
    for name in names:
        if len(name) > MAX_TAG_LENGTH:
            continue
        lowered = name.lower()
        tag = db.session.scalar(select(Tag).where(Tag.name == lowered))
        if tag is None:
            tag = Tag(name=lowered, display_name=name)
            db.session.add(tag)
        tags.append(tag)
    return tags


def post(author: Account, text: str, **options: Any) -> Status:
    """A new local status. Raises ValidationError, NotFound (unseen reply target) or Reject.

    Options: ``spoiler_text``, ``sensitive``, ``visibility``, ``language``,
    ``in_reply_to``, ``media_ids``, ``application_id``. Storing is retried
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
) -> Status:
    if in_reply_to is not None and not can_see(author, in_reply_to):
        raise NotFound("Record not found")
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
    status_id = next_id()
    base = current().config["BASE_URL"]
    if in_reply_to is not None and in_reply_to.conversation_id is not None:
        conversation_id = in_reply_to.conversation_id
    else:
        conversation = Conversation()
        db.session.add(conversation)
        db.session.flush()
        conversation_id = conversation.id
    status = Status(
        id=status_id,
        uri=f"{base}/users/{author.username}/statuses/{status_id}",
        url=f"{base}/@{author.username}/{status_id}",
        account=author,
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
    status.media_attachments = media
    status.tags = _tags(rendered.tags)
    status.mentions = [Mention(account=account) for account in _accounts(rendered.mentioned_account_ids)]
    author.statuses_count = Account.statuses_count + 1
    author.last_status_at = utcnow()
    if in_reply_to is not None:
        in_reply_to.replies_count = Status.replies_count + 1
    db.session.flush()
    for mention in status.mentions:
        notify(mention.account, "mention", author, status)
    db.session.commit()
    timelines.distribute(status)
    current().emit("status_created", status=status)
    return status


def edit(
    editor: Account,
    status: Status,
    text: str,
    *,
    spoiler_text: str = "",
    sensitive: bool = False,
    language: str | None = None,
    media_ids: Sequence[int] | None = None,
) -> Status:
    """Change a status's text; keeps every version in ``status.edits``."""
    if status.account_id != editor.id:
        raise Forbidden("This action is not allowed")
    if status.reblog_of_id is not None:
        raise ValidationError("Validation failed: a reblog cannot be edited")
    media_ids = [m.id for m in status.media_attachments] if media_ids is None else [int(m) for m in media_ids]
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
    if not status.edits:
        status.edits.append(_snapshot(status))
    rendered = render(editor, draft.text)
    status.text = draft.text
    status.content = rendered.html
    status.spoiler_text = draft.spoiler_text
    status.sensitive = draft.sensitive
    status.language = draft.language
    status.media_attachments = media
    status.tags = _tags(rendered.tags)
    known = {m.account_id for m in status.mentions}
    for account in _accounts(rendered.mentioned_account_ids):
        if account.id not in known:
            status.mentions.append(Mention(account=account))
            notify(account, "mention", editor, status)
    status.edited_at = utcnow()
    status.edits.append(_snapshot(status))
    boosters = db.session.scalars(
        select(Account).join(Status, Status.account_id == Account.id).where(Status.reblog_of_id == status.id)
    )
    for booster in boosters:
        notify(booster, "update", editor, status)
    db.session.commit()
    jobs.enqueue("core.index_status", status_id=status.id)
    current().emit("status_updated", status=status)
    return status


def _snapshot(status: Status) -> StatusEdit:
    return StatusEdit(
        account_id=status.account_id,
        text=status.text,
        content=status.content,
        spoiler_text=status.spoiler_text,
        sensitive=status.sensitive,
        media_attachment_ids=[m.id for m in status.media_attachments],
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


def _remove(status: Status) -> Status:
    state = current()
    feeds = timelines.feeds_for(status) if state.feeds.precomputed else []
    reblogs = list(db.session.scalars(select(Status).where(Status.reblog_of_id == status.id)))
    reblog_feeds = {r.id: timelines.feeds_for(r) if state.feeds.precomputed else [] for r in reblogs}
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


def reblog(account: Account, status: Status, *, visibility: str | Visibility = Visibility.PUBLIC) -> Status:
    """Boost ``status``; boosting twice returns the existing boost."""
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
        uri=f"{base}/users/{account.username}/statuses/{reblog_id}/activity",
        account=account,
        local=account.local,
        reblog_of_id=status.id,
        visibility=chosen.value,
    )
    db.session.add(boost)
    status.reblogs_count = Status.reblogs_count + 1
    account.statuses_count = Account.statuses_count + 1
    notify(status.account, "reblog", account, status)
    try:
        db.session.commit()
    except IntegrityError:  # a double tap: the other request stored it first
        db.session.rollback()
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


def favourite(account: Account, status: Status) -> Favourite:
    if not can_see(account, status):
        raise NotFound("Record not found")
    existing = db.session.scalar(
        select(Favourite).where(Favourite.account_id == account.id, Favourite.status_id == status.id)
    )
    if existing is not None:
        return existing
    fav = Favourite(account_id=account.id, status=status)
    db.session.add(fav)
    status.favourites_count = Status.favourites_count + 1
    notify(status.account, "favourite", account, status)
    try:
        db.session.commit()
    except IntegrityError:  # a double tap: the other request stored it first
        db.session.rollback()
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
    try:
        db.session.commit()
    except IntegrityError:  # already bookmarked
        db.session.rollback()


def unbookmark(account: Account, status: Status) -> None:
    db.session.execute(sql_delete(Bookmark).where(Bookmark.account_id == account.id, Bookmark.status_id == status.id))
    db.session.commit()
