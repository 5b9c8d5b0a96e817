"""What each core event becomes: the activity, who receives it, and the delivery jobs.

Called by the plugin's thin hook implementations (``__init__``). Events about
remote accounts' doings are ignored here (their servers told everyone); an
event about a local account tells the remote accounts concerned: followers
for what it posts, pins, edits or moves; the one account for a follow, a
like, a block or a report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.models import Account, Follow, Status
from fedikit.core.services import polls
from fedikit.plugins.activitypub import delivery, documents, outbox
from fedikit.plugins.activitypub.keys import instance_actor


def status_created(status: Status) -> None:
    if status.local:
        jobs.enqueue("activitypub.distribute", queue="push", status_id=status.id)
        return
    for attachment in status.media_attachments:  # a copy of our own, so readers never fetch from elsewhere
        if attachment.remote_url and not attachment.file_key:
            jobs.enqueue("activitypub.fetch_media", queue="pull", max_attempts=3, media_id=attachment.id)


def reblogged(reblog: Status) -> None:
    status_created(reblog)


def status_updated(status: Status) -> None:
    if status.local:
        jobs.enqueue("activitypub.distribute", queue="push", status_id=status.id, edited=True)


def status_deleted(status: Status) -> None:
    if not status.local:
        return
    targets = outbox.follower_inboxes(status.account)
    if status.reblog_of_id is None:
        targets += outbox.inboxes(m.account for m in status.mentions)
    activity = documents.activity(
        "Delete", id=f"{status.uri}#delete", actor=status.account.uri, object=documents.tombstone(status.uri)
    )
    delivery.send(activity, targets, status.account)


def unreblogged(reblog: Status) -> None:
    if not reblog.local:
        return
    announce = {"id": reblog.uri, "type": "Announce", "actor": reblog.account.uri}
    activity = documents.activity("Undo", id=f"{reblog.uri}#undo", actor=reblog.account.uri, object=announce)
    delivery.send(activity, outbox.follower_inboxes(reblog.account), reblog.account)


def _to_remote(kind: str, account: Account, target: Account, inner: Any, suffix: str) -> None:
    """``account`` (local) tells ``target`` (remote) about ``inner`` with a ``kind`` activity."""
    if not account.local or target.local:
        return
    activity = documents.activity(kind, id=f"{account.uri}#{suffix}", actor=account.uri, object=inner)
    outbox.send_to(target, activity, account)


def follow_requested(follower: Account, target: Account) -> None:
    if follower.local and not target.local:
        follow = outbox.follow_object(follower, target)
        outbox.send_to(target, {"@context": documents.CONTEXT, **follow}, follower)


def _follow_of(follower: Account, target: Account) -> dict[str, Any]:

    uri = db.session.scalar(
        select(Follow.uri).where(Follow.account_id == follower.id, Follow.target_account_id == target.id)
    )
    return outbox.follow_object(follower, target, uri)


def follow_accepted(follower: Account, target: Account) -> None:
    if target.local and not follower.local:
        _to_remote("Accept", target, follower, _follow_of(follower, target), f"accepts/follows/{follower.id}")


def follow_rejected(follower: Account, target: Account) -> None:
    if target.local and not follower.local:
        _to_remote("Reject", target, follower, outbox.follow_object(follower, target), f"rejects/follows/{follower.id}")


def unfollowed(follower: Account, target: Account) -> None:

    _to_remote("Undo", follower, target, outbox.follow_object(follower, target), f"follows/{target.id}/undo")


def favourited(account: Account, status: Status) -> None:
    _to_remote("Like", account, status.account, status.uri, f"likes/{status.id}")


def unfavourited(account: Account, status: Status) -> None:
    like = {"id": f"{account.uri}#likes/{status.id}", "type": "Like", "actor": account.uri, "object": status.uri}
    _to_remote("Undo", account, status.account, like, f"likes/{status.id}/undo")


def poll_voted(account: Account, status: Status, choices: list[int]) -> None:
    """Each choice in a remote poll goes to its author as a Note named after the option (as Mastodon sends)."""
    if not account.local or status.local:
        return
    poll = polls.for_status(status.id)
    for choice in choices:
        ballot = {
            "id": f"{account.uri}#votes/{poll.id}/{choice}",
            "type": "Note",
            "name": poll.options[choice],
            "attributedTo": account.uri,
            "inReplyTo": status.uri,
            "to": [status.account.uri],
        }
        _to_remote("Create", account, status.account, ballot, f"votes/{poll.id}/{choice}/activity")


def _featured(kind: str, account: Account, status: Status) -> None:
    if not account.local:
        return
    activity = documents.activity(
        kind, id=f"{account.uri}#{kind.lower()}s/pins/{status.id}", actor=account.uri, object=status.uri
    )
    activity["target"] = f"{account.uri}/collections/featured"
    delivery.send(activity, outbox.follower_inboxes(account), account)


def pinned(account: Account, status: Status) -> None:
    _featured("Add", account, status)


def unpinned(account: Account, status: Status) -> None:
    _featured("Remove", account, status)


def blocked(account: Account, target: Account) -> None:
    _to_remote("Block", account, target, target.uri, f"blocks/{target.id}")


def unblocked(account: Account, target: Account) -> None:
    block = {"id": f"{account.uri}#blocks/{target.id}", "type": "Block", "actor": account.uri, "object": target.uri}
    _to_remote("Undo", account, target, block, f"blocks/{target.id}/undo")


def account_updated(account: Account) -> None:
    if not account.local:
        return
    activity = documents.activity(
        "Update",
        id=f"{account.uri}#updates/{int(account.updated_at.timestamp())}",
        actor=account.uri,
        object=outbox.actor_document(account),
    )
    delivery.send(activity, outbox.follower_inboxes(account), account)


def reported(report: Any, target: Account, statuses: list[Status]) -> None:
    """A forwarded report goes to the reported account's server as a Flag from the instance actor (anonymous)."""
    if not report.forwarded or target.local:
        return
    actor = instance_actor()
    activity = documents.activity(
        "Flag",
        id=f"{actor.uri}#reports/{report.id}",
        actor=actor.uri,
        object=[target.uri, *(s.uri for s in statuses)],
    )
    activity["content"] = report.comment
    outbox.send_to(target, activity, actor)


def account_deleted(account: Account) -> None:
    """Everyone who follows it, and everyone it follows, hears that the actor is gone."""

    following = select(Follow.target_account_id).where(Follow.account_id == account.id)
    targets = outbox.follower_inboxes(account) + outbox.inboxes(
        db.session.scalars(select(Account).where(Account.id.in_(following)))
    )
    activity = documents.activity(
        "Delete", id=f"{account.uri}#delete", actor=account.uri, object=account.uri, to=[documents.PUBLIC]
    )
    delivery.send(activity, targets, account)


def account_moved(account: Account, target: Account) -> None:
    if not account.local:
        return
    activity = documents.activity("Move", id=f"{account.uri}#moves/{target.id}", actor=account.uri, object=account.uri)
    activity["target"] = target.uri
    delivery.send(activity, outbox.follower_inboxes(account), account)
