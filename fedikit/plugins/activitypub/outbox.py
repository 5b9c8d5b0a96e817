"""What goes out: documents built from stored rows, and the activity each core event becomes.

Who receives a status is core's decision (:func:`fedikit.core.visibility.audience`:
accepted followers as its visibility allows, and mentioned accounts); this
module keeps the remote ones and delivers to their inboxes, shared inboxes
first. Posting never waits for this: ``status_created`` queues the
``activitypub.distribute`` job, which builds the activity and queues the
deliveries.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import select

from fedikit.core.api.serializers.common import media_url
from fedikit.core.db import db
from fedikit.core.models import Account, FeaturedTag, Follow, Status, StatusPin, Tag
from fedikit.core.services import polls
from fedikit.core.visibility import PUBLIC_VISIBILITIES, audience
from fedikit.plugins.activitypub import delivery, documents, remote
from fedikit.plugins.activitypub.keys import ensure_keys

# -- documents ----------------------------------------------------------------


def base_url() -> str:
    return current_app.config["BASE_URL"]


def handle(account: Account) -> str:
    """``@user@domain``, the name a Mention tag carries."""
    return f"@{account.username}@{account.domain or current_app.config['LOCAL_DOMAIN']}"


def actor_document(account: Account) -> dict[str, Any]:
    _, public_pem = ensure_keys(account)
    moved = db.session.get(Account, account.moved_to_account_id) if account.moved_to_account_id else None
    return documents.actor(
        account,
        avatar_url=media_url(account.avatar_key, "") if account.avatar_key else None,
        header_url=media_url(account.header_key, "") if account.header_key else None,
        shared_inbox=f"{base_url()}/inbox",
        moved_to_uri=moved.uri if moved is not None else None,
    )


def instance_actor_fields(actor: Account) -> dict[str, Any]:
    return {
        "uri": actor.uri,
        "username": actor.username,
        "public_key": actor.public_key,
        "inbox": f"{actor.uri}/inbox",
        "shared_inbox": f"{base_url()}/inbox",
        "url": actor.url or base_url(),
    }


def note_document(status: Status) -> dict[str, Any]:
    media = []
    for attachment in status.media_attachments:
        if not attachment.file_key:
            continue
        original = (attachment.meta or {}).get("original") or {}
        focus = (attachment.meta or {}).get("focus")
        media.append(
            documents.attachment(
                attachment.content_type or mimetypes.guess_type(attachment.file_key)[0] or "application/octet-stream",
                media_url(attachment.file_key, ""),
                description=attachment.description,
                blurhash=attachment.blurhash,
                width=original.get("width"),
                height=original.get("height"),
                focus=(focus["x"], focus["y"]) if isinstance(focus, dict) else None,
            )
        )
    note = documents.note(
        status,
        in_reply_to_uri=status.in_reply_to.uri if status.in_reply_to_id and status.in_reply_to else None,
        mentions=[(m.account.uri, handle(m.account)) for m in status.mentions],
        tags=[t.name for t in status.tags],
        media=media,
        base_url=base_url(),
    )
    poll = polls.for_status(status.id)
    if poll is not None:
        note["type"] = "Question"
        note["anyOf" if poll.multiple else "oneOf"] = [
            {"type": "Note", "name": option, "replies": {"type": "Collection", "totalItems": count}}
            for option, count in zip(poll.options, poll.tallies, strict=False)
        ]
        if poll.expires_at is not None:
            note["endTime"] = documents.iso(poll.expires_at)
            if polls.expired(poll):
                note["closed"] = documents.iso(poll.expires_at)
        note["votersCount"] = poll.voters_count
    return note


def pinned_statuses(account: Account) -> list[Status]:
    """``account``'s public and unlisted pinned statuses, most recently pinned first."""
    query = (
        select(Status)
        .join(StatusPin, StatusPin.status_id == Status.id)
        .where(StatusPin.account_id == account.id, Status.visibility.in_(PUBLIC_VISIBILITIES))
        .order_by(StatusPin.id.desc())
    )
    return list(db.session.scalars(query))


def featured_tag_names(account: Account) -> list[str]:
    query = (
        select(Tag.name)
        .join(FeaturedTag, FeaturedTag.tag_id == Tag.id)
        .where(FeaturedTag.account_id == account.id)
        .order_by(FeaturedTag.id)
    )
    return list(db.session.scalars(query))


def follow_id(follower: Account, target: Account) -> str:
    """The id of ``follower``'s Follow of ``target``: one per pair, so an Undo can name it."""
    return f"{follower.uri}#follows/{target.id}"


def follow_object(follower: Account, target: Account, uri: str | None = None) -> dict[str, Any]:
    return {"id": uri or follow_id(follower, target), "type": "Follow", "actor": follower.uri, "object": target.uri}


# -- recipients ---------------------------------------------------------------


def inboxes(accounts: Iterable[Account]) -> list[str]:
    """The inboxes reaching these remote accounts: each server's shared inbox where it has one."""
    found = {a.shared_inbox_url or a.inbox_url for a in accounts if not a.local and a.suspended_at is None}
    suspended: dict[str, bool] = {}  # one look at the domain blocks per server, not per inbox
    for inbox in found:
        if inbox and remote.authority(inbox) not in suspended:
            suspended[remote.authority(inbox)] = remote.suspended(inbox)
    return sorted(inbox for inbox in found if inbox and not suspended[remote.authority(inbox)])


def status_inboxes(status: Status) -> list[str]:
    recipients = list(db.session.scalars(audience(status).where(Account.domain.is_not(None))))
    if status.reblog_of_id is not None and status.reblog is not None:
        recipients.append(status.reblog.account)  # the boosted author hears of the boost
    return inboxes(recipients)


def follower_inboxes(account: Account) -> list[str]:
    followers = select(Follow.account_id).where(Follow.target_account_id == account.id)
    return inboxes(db.session.scalars(select(Account).where(Account.id.in_(followers), Account.domain.is_not(None))))


# -- events -------------------------------------------------------------------


def distribute(status_id: int, edited: bool = False) -> None:
    """The ``activitypub.distribute`` job: a local post (Create), edit (Update) or boost (Announce) to its audience."""
    status = db.session.get(Status, status_id)
    if status is None or not status.local:
        return
    targets = status_inboxes(status)
    if not targets:
        return
    if status.reblog_of_id is not None:
        to, cc = documents.addressing(
            status.visibility, followers_url=f"{status.account.uri}/followers", mentioned=[status.reblog.account.uri]
        )
        activity = documents.activity(
            "Announce",
            id=status.uri,
            actor=status.account.uri,
            object=status.reblog.uri,
            to=to,
            cc=cc,
            published=documents.iso(status.created_at),
        )
    elif edited:
        note = note_document(status)
        activity = documents.activity(
            "Update",
            id=f"{status.uri}#updates/{int(status.edited_at.timestamp())}",
            actor=status.account.uri,
            object=note,
            to=note["to"],
            cc=note["cc"],
            published=documents.iso(status.edited_at),
        )
    else:
        activity = documents.create(note_document(status), published=documents.iso(status.created_at))
    delivery.send(activity, targets, status.account)


def send_to(account: Account, activity: dict[str, Any], sender: Account) -> None:
    """One activity to one remote account's inbox."""
    if not account.local and account.inbox_url:
        delivery.send(activity, [account.inbox_url], sender)
