"""ActivityPub: this instance's accounts as actors other servers follow, and theirs as accounts here.

Serves actors, statuses and collections as ActivityPub JSON, the instance
actor (``/actor``), and the personal and shared inboxes (see :mod:`.views`).
Core's events become activities delivered as jobs (:mod:`.outbox`,
:mod:`.delivery`); received activities are checked (:mod:`.inbox`) and
handled in jobs (:mod:`.handlers`). ``resolve_account`` finds remote accounts
through WebFinger and ``resolve_object`` fetches actors and statuses by URL
(:mod:`.remote`); every outbound request goes through one guarded client
(:mod:`.fetch`), signed with :mod:`.signatures`.

Settings (Mastodon's names): ``AUTHORIZED_FETCH`` (require signed GETs),
``ALLOWED_PRIVATE_ADDRESSES`` (CIDRs the fetcher may reach; none by default),
``LOCAL_HTTPS=false`` (use and accept ``http://`` ids: local testing only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fedikit.plugin_api import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint, Flask

    from fedikit.core.models import Account, Status


@hookimpl
def register_blueprints() -> list[Blueprint]:
    from fedikit.plugins.activitypub.views import bp

    return [bp]


@hookimpl
def register_jobs() -> Mapping[str, Callable[..., None]]:
    from fedikit.plugins.activitypub import delivery, handlers, outbox, remote

    return {
        "activitypub.process": handlers.process,
        "activitypub.distribute": outbox.distribute,
        "activitypub.deliver": delivery.deliver,
        "activitypub.fetch_media": remote.fetch_media,
    }


@hookimpl
def protocols() -> list[str]:
    return ["activitypub"]


@hookimpl
def startup(app: Flask) -> None:
    from fedikit.plugins.activitypub import handlers, remote

    remote.install(app)
    handlers.install(app)


# -- core events become activities ----------------------------------------------


@hookimpl
def status_created(status: Status) -> None:
    from fedikit.core import jobs

    if status.local:
        jobs.enqueue("activitypub.distribute", queue="push", status_id=status.id)
        return
    for attachment in status.media_attachments:  # a copy of our own, so readers never fetch from elsewhere
        if attachment.remote_url and not attachment.file_key:
            jobs.enqueue("activitypub.fetch_media", queue="pull", max_attempts=3, media_id=attachment.id)


@hookimpl
def reblogged(reblog: Status) -> None:
    status_created(reblog)


@hookimpl
def status_updated(status: Status) -> None:
    if status.local:
        from fedikit.core import jobs

        jobs.enqueue("activitypub.distribute", queue="push", status_id=status.id, edited=True)


@hookimpl
def status_deleted(status: Status) -> None:
    if not status.local:
        return
    from fedikit.plugins.activitypub import delivery, documents, outbox

    targets = outbox.follower_inboxes(status.account)
    if status.reblog_of_id is None:
        targets += outbox.inboxes(m.account for m in status.mentions)
    activity = documents.activity(
        "Delete", id=f"{status.uri}#delete", actor=status.account.uri, object=documents.tombstone(status.uri)
    )
    delivery.send(activity, targets, status.account)


@hookimpl
def unreblogged(reblog: Status) -> None:
    if not reblog.local:
        return
    from fedikit.plugins.activitypub import delivery, documents, outbox

    announce = {"id": reblog.uri, "type": "Announce", "actor": reblog.account.uri}
    activity = documents.activity("Undo", id=f"{reblog.uri}#undo", actor=reblog.account.uri, object=announce)
    delivery.send(activity, outbox.follower_inboxes(reblog.account), reblog.account)


def _to_remote(kind: str, account: Account, target: Account, inner: Any, suffix: str) -> None:
    """``account`` (local) tells ``target`` (remote) about ``inner`` with a ``kind`` activity."""
    if not account.local or target.local:
        return
    from fedikit.plugins.activitypub import documents, outbox

    activity = documents.activity(kind, id=f"{account.uri}#{suffix}", actor=account.uri, object=inner)
    outbox.send_to(target, activity, account)


@hookimpl
def follow_requested(follower: Account, target: Account) -> None:
    if follower.local and not target.local:
        from fedikit.plugins.activitypub import outbox

        follow = outbox.follow_object(follower, target)
        outbox.send_to(target, {"@context": _context(), **follow}, follower)


def _context() -> list[Any]:
    from fedikit.plugins.activitypub.documents import CONTEXT

    return CONTEXT


def _follow_of(follower: Account, target: Account) -> dict[str, Any]:
    from sqlalchemy import select

    from fedikit.core.db import db
    from fedikit.core.models import Follow
    from fedikit.plugins.activitypub import outbox

    uri = db.session.scalar(
        select(Follow.uri).where(Follow.account_id == follower.id, Follow.target_account_id == target.id)
    )
    return outbox.follow_object(follower, target, uri)


@hookimpl
def follow_accepted(follower: Account, target: Account) -> None:
    if target.local and not follower.local:
        _to_remote("Accept", target, follower, _follow_of(follower, target), f"accepts/follows/{follower.id}")


@hookimpl
def follow_rejected(follower: Account, target: Account) -> None:
    if target.local and not follower.local:
        from fedikit.plugins.activitypub import outbox

        _to_remote("Reject", target, follower, outbox.follow_object(follower, target), f"rejects/follows/{follower.id}")


@hookimpl
def unfollowed(follower: Account, target: Account) -> None:
    from fedikit.plugins.activitypub import outbox

    _to_remote("Undo", follower, target, outbox.follow_object(follower, target), f"follows/{target.id}/undo")


@hookimpl
def favourited(account: Account, status: Status) -> None:
    _to_remote("Like", account, status.account, status.uri, f"likes/{status.id}")


@hookimpl
def unfavourited(account: Account, status: Status) -> None:
    like = {"id": f"{account.uri}#likes/{status.id}", "type": "Like", "actor": account.uri, "object": status.uri}
    _to_remote("Undo", account, status.account, like, f"likes/{status.id}/undo")


@hookimpl
def poll_voted(account: Account, status: Status, choices: list[int]) -> None:
    """Each choice in a remote poll goes to its author as a Note named after the option (as Mastodon sends)."""
    if not account.local or status.local:
        return
    from fedikit.core.services import polls

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
    from fedikit.plugins.activitypub import delivery, documents, outbox

    activity = documents.activity(
        kind, id=f"{account.uri}#{kind.lower()}s/pins/{status.id}", actor=account.uri, object=status.uri
    )
    activity["target"] = f"{account.uri}/collections/featured"
    delivery.send(activity, outbox.follower_inboxes(account), account)


@hookimpl
def pinned(account: Account, status: Status) -> None:
    _featured("Add", account, status)


@hookimpl
def unpinned(account: Account, status: Status) -> None:
    _featured("Remove", account, status)


@hookimpl
def blocked(account: Account, target: Account) -> None:
    _to_remote("Block", account, target, target.uri, f"blocks/{target.id}")


@hookimpl
def unblocked(account: Account, target: Account) -> None:
    block = {"id": f"{account.uri}#blocks/{target.id}", "type": "Block", "actor": account.uri, "object": target.uri}
    _to_remote("Undo", account, target, block, f"blocks/{target.id}/undo")


@hookimpl
def account_updated(account: Account) -> None:
    if not account.local:
        return
    from fedikit.plugins.activitypub import delivery, documents, outbox

    activity = documents.activity(
        "Update",
        id=f"{account.uri}#updates/{int(account.updated_at.timestamp())}",
        actor=account.uri,
        object=outbox.actor_document(account),
    )
    delivery.send(activity, outbox.follower_inboxes(account), account)


@hookimpl
def reported(report: Any, target: Account, statuses: list[Status]) -> None:
    """A forwarded report goes to the reported account's server as a Flag from the instance actor (anonymous)."""
    if not report.forwarded or target.local:
        return
    from fedikit.plugins.activitypub import documents, outbox
    from fedikit.plugins.activitypub.keys import instance_actor

    actor = instance_actor()
    activity = documents.activity(
        "Flag",
        id=f"{actor.uri}#reports/{report.id}",
        actor=actor.uri,
        object=[target.uri, *(s.uri for s in statuses)],
    )
    activity["content"] = report.comment
    outbox.send_to(target, activity, actor)


@hookimpl
def account_deleted(account: Account) -> None:
    """Everyone who follows it, and everyone it follows, hears that the actor is gone."""
    from sqlalchemy import select

    from fedikit.core.db import db
    from fedikit.core.models import Account as AccountModel
    from fedikit.core.models import Follow
    from fedikit.plugins.activitypub import delivery, documents, outbox

    following = select(Follow.target_account_id).where(Follow.account_id == account.id)
    targets = outbox.follower_inboxes(account) + outbox.inboxes(
        db.session.scalars(select(AccountModel).where(AccountModel.id.in_(following)))
    )
    activity = documents.activity(
        "Delete", id=f"{account.uri}#delete", actor=account.uri, object=account.uri, to=[documents.PUBLIC]
    )
    delivery.send(activity, targets, account)


@hookimpl
def account_moved(account: Account, target: Account) -> None:
    if not account.local:
        return
    from fedikit.plugins.activitypub import delivery, documents, outbox

    activity = documents.activity("Move", id=f"{account.uri}#moves/{target.id}", actor=account.uri, object=account.uri)
    activity["target"] = target.uri
    delivery.send(activity, outbox.follower_inboxes(account), account)


# -- finding remote things -------------------------------------------------------


@hookimpl(trylast=True)
def resolve_account(acct: str) -> Account | None:
    from fedikit.plugins.activitypub import remote

    return remote.webfinger(acct)


@hookimpl(trylast=True)
def resolve_object(url: str) -> Account | Status | None:
    from fedikit.plugins.activitypub import handlers, remote

    try:
        document = remote.fetch_document(url)
    except remote.Unresolvable:
        return None
    if "inbox" in document:
        try:
            return remote.store_actor(document)
        except remote.Unresolvable:
            return None
    return handlers.fetched_status(document)
