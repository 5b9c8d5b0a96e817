"""Incoming activities, one handler per type, run by the ``activitypub.process`` job.

The inbox has already checked that the signer is the activity's actor. Each
handler then checks what concerns its objects, as Mastodon does: a created
object lives on the actor's host and is attributed to the actor; an undone,
deleted or updated thing belongs to the actor. Anything else is ignored
(and logged): a peer must not be able to act for another.

Handlers are idempotent: the same activity delivered twice finds its effect
already stored (a status by its uri, a follow or favourite by its pair) and
changes nothing. :data:`HANDLERS` maps a type to its handler; other plugins
add theirs through the ``activity_handlers`` hook (run after ours for the same
type); types nobody handles are logged and counted in :data:`UNHANDLED`.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.errors import FedikitError
from fedikit.core.models import Account, Follow, FollowRequest, Status
from fedikit.core.services import accounts, emojis, polls, relationships, reports, statuses
from fedikit.core.state import current
from fedikit.plugin_api import JobTimeout, batch_job
from fedikit.plugins.activitypub import outbox, parse, remote

log = logging.getLogger("fedikit.activitypub.handlers")

Handler = Callable[[dict[str, Any], Account], None]
HANDLERS: dict[str, Handler] = {}
UNHANDLED: Counter[str] = Counter()


def handles(*types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for type_ in types:
            HANDLERS[type_] = handler
        return handler

    return register


def activity_type(document: dict[str, Any]) -> str | None:
    kinds = [kind for kind in parse.as_list(document.get("type")) if isinstance(kind, str)]
    return kinds[0] if kinds else None


EXTENSION = "activitypub.handlers"


def install(app: Flask) -> None:
    """Collect other plugins' handlers (the ``activity_handlers`` hook), once."""
    extra: dict[str, list[Handler]] = {}
    for mapping in app.extensions["fedikit"].hook.activity_handlers():
        for kind, handler in (mapping or {}).items():
            extra.setdefault(kind, []).append(handler)
    app.extensions[EXTENSION] = extra


PROCESS_BATCH = 100  # activities one ``activitypub.process`` job takes when many wait


@batch_job(PROCESS_BATCH)
def process_batch(items: list[dict[str, Any]]) -> None:
    """The ``activitypub.process`` job: the received activities of ``items`` (:func:`process`'s arguments), in
    the order received.

    Their actors, and which of their notes are stored already, are read in
    one query each. Runs of new notes (``Create`` with the note embedded, the
    common case) are stored together, in one transaction
    (:func:`.statuses.receive_many`); every other activity is handled on its
    own, after the notes received before it, and so is a reply to a note of
    the run. An activity that fails is queued again alone (and retried
    alone) while the others go on: none that was done runs again. Out of
    time, those not done yet go to a new job.
    """
    batch = _Batch(items)
    taken = 0
    try:
        for item in items:
            batch.take(item)
            taken += 1
        batch.store_notes()
    except JobTimeout:
        db.session.rollback()
        if not batch.committed:
            raise
        left = [*batch.pending_items(), *items[taken:]]
        log.warning("activitypub.process out of time: %d activities queued again", len(left))
        for later in left:
            jobs.enqueue("activitypub.process", queue="ingress", **later)


class _Batch:
    """The state of one :func:`process_batch` run."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        wanted = list(dict.fromkeys(item["actor"] for item in items))
        self.actors = {a.uri: a for a in db.session.scalars(select(Account).where(Account.uri.in_(wanted)))}
        self.stored = _stored_uris([item["activity"].get("object") for item in items])
        self.together = not current_app.extensions.get(EXTENSION, {}).get("Create")  # no plugin handles them too
        self.notes: list[tuple[statuses.Incoming, dict[str, Any]]] = []  # a new note, and the job's arguments
        self.committed = False  # some activity was done (or handed to a job of its own): not to be run again
        self.alone = len(items) == 1  # a failure is then the job's, for the queue to retry with its schedule

    def pending_items(self) -> list[dict[str, Any]]:
        return [item for _, item in self.notes]

    def take(self, item: dict[str, Any]) -> None:
        activity, actor = item["activity"], self.actors.get(item["actor"])
        document = activity.get("object")
        if actor is None or actor.suspended_at is not None or remote.suspended(actor.uri):
            return
        note = document if isinstance(document, dict) and not parse.vote(document) else None
        if self.together and note is not None and activity_type(activity) == "Create":
            self.gather(item, note, actor)
            return
        self.store_notes()
        try:
            process(activity, actor.uri, account=actor)
            db.session.commit()
            self.committed = True
        except JobTimeout:
            raise
        except Exception as exc:
            db.session.rollback()
            self.again_alone([item], exc)

    def gather(self, item: dict[str, Any], document: dict[str, Any], actor: Account) -> None:
        note = _note(document, actor)
        if note is None or note.uri in self.stored or _deleted_first(actor, note.uri):
            return  # (stored already: delivered again)
        if note.in_reply_to and note.in_reply_to in {incoming.uri for incoming, _ in self.notes}:
            self.store_notes()  # the parent first
        try:
            self.notes.append((_incoming(note, document, actor, item["activity"], 0), item))
        except FedikitError as exc:  # its parent refused (a suspended author, a moderation filter)
            log.info("Create %s from %s refused: %s", note.uri, actor.uri, exc)
        except JobTimeout:
            raise
        except Exception as exc:
            db.session.rollback()
            self.again_alone([item], exc)

    def store_notes(self) -> None:
        """Store the new notes gathered so far (and forget them)."""
        notes, self.notes = self.notes, []
        if not notes:
            return
        try:
            stored = statuses.receive_many([incoming for incoming, _ in notes])
            for (incoming, _), result in zip(notes, stored, strict=True):
                if isinstance(result, FedikitError):
                    log.info("Create %s from %s refused: %s", incoming.uri, incoming.author.uri, result)
                else:
                    _kept(result, incoming)
            db.session.commit()
            self.committed = True
        except JobTimeout:
            self.notes = notes
            raise
        except Exception as exc:
            db.session.rollback()
            self.again_alone([item for _, item in notes], exc)

    def again_alone(self, items: list[dict[str, Any]], exc: Exception) -> None:
        """Queue activities that failed in this batch as jobs of their own; in a job of one, fail it instead
        (the queue then retries it on its schedule, and gives up after its tries)."""
        if self.alone:
            raise exc
        for item in items:
            activity_id = item["activity"].get("id")
            log.warning("activity %s from %s failed; queued again alone: %r", activity_id, item["actor"], exc)
            jobs.enqueue("activitypub.process", queue="ingress", alone=True, **item)
        self.committed = True


def _stored_uris(documents: list[Any]) -> set[str]:
    uris = [d["id"] for d in documents if isinstance(d, dict) and isinstance(d.get("id"), str)]
    return set(db.session.scalars(select(Status.uri).where(Status.uri.in_(uris)))) if uris else set()


def process(activity: dict[str, Any], actor: str, *, account: Account | None = None) -> None:
    """Run the handler of ``activity``, received from (and signed by) ``actor`` (``account``, when read already).

    Ours first, then other plugins' for the same type (each on its own: one
    that fails is logged and the others still run).
    """
    account = account or accounts.find_by_uri(actor)
    if account is None or account.suspended_at is not None or remote.suspended(actor):
        return
    kind = activity_type(activity)
    handler = HANDLERS.get(kind or "")
    extra = current_app.extensions.get(EXTENSION, {}).get(kind or "", [])
    if handler is None and not extra:
        UNHANDLED[kind or "?"] += 1
        log.info("unhandled activity type %r from %s", kind, actor)
        return
    if handler is not None:
        try:
            handler(activity, account)
        except FedikitError as exc:  # refused by core (not allowed, not visible, invalid): nothing to retry
            db.session.rollback()
            log.info("%s %s from %s refused: %s", kind, activity.get("id"), actor, exc)
    for plugin_handler in extra:
        try:
            plugin_handler(activity, account)
            db.session.commit()
        except JobTimeout:
            raise
        except Exception:
            db.session.rollback()
            log.exception("a plugin's handler of %s %s failed", kind, activity.get("id"))


def _same_host(uri: str | None, account: Account) -> bool:
    return bool(uri) and remote.authority(uri) == remote.authority(account.uri)


def _local_account(uri: str | None) -> Account | None:
    found = accounts.find_by_uri(uri) if uri else None
    return found if found is not None and found.local else None


def _status(uri: str | None) -> Status | None:
    return statuses.find_by_uri(uri) if uri else None


# -- follows ------------------------------------------------------------------


@handles("Follow")
def follow(activity: dict[str, Any], actor: Account) -> None:
    target = _local_account(parse.object_id(activity.get("object")))
    if target is None:
        return
    uri = activity.get("id") if isinstance(activity.get("id"), str) else None
    already = db.session.scalar(
        select(Follow).where(Follow.account_id == actor.id, Follow.target_account_id == target.id)
    )
    try:
        relationships.follow(actor, target, uri=uri)
    except FedikitError:  # blocked: say no
        reject = outbox.follow_object(actor, target, uri)
        outbox.send_to(actor, _answer("Reject", target, reject), target)
        return
    if already is not None:  # a repeated Follow is accepted again, as Mastodon does
        outbox.send_to(actor, _answer("Accept", target, outbox.follow_object(actor, target, uri)), target)


def _answer(kind: str, target: Account, follow_object: dict[str, Any]) -> dict[str, Any]:
    from fedikit.plugins.activitypub import documents

    return documents.activity(
        kind, id=f"{target.uri}#{kind.lower()}s/follows/{follow_object['id']}", actor=target.uri, object=follow_object
    )


def _our_follow(activity: dict[str, Any], actor: Account) -> Account | None:
    """The local follower of the Follow an Accept or Reject from ``actor`` answers."""
    inner = activity.get("object")
    if isinstance(inner, dict):
        if parse.object_id(inner.get("object")) not in (None, actor.uri):
            return None
        return _local_account(parse.object_id(inner.get("actor")))
    follow_uri = parse.object_id(inner)
    return _local_account(follow_uri.partition("#")[0]) if follow_uri else None


def _pending(follower: Account, target: Account) -> bool:
    return (
        db.session.scalar(
            select(FollowRequest.id).where(
                FollowRequest.account_id == follower.id, FollowRequest.target_account_id == target.id
            )
        )
        is not None
    )


@handles("Accept")
def accept(activity: dict[str, Any], actor: Account) -> None:
    follower = _our_follow(activity, actor)
    if follower is not None and _pending(follower, actor):
        relationships.authorize(actor, follower)


@handles("Reject")
def reject(activity: dict[str, Any], actor: Account) -> None:
    follower = _our_follow(activity, actor)
    if follower is None:
        return
    if _pending(follower, actor):
        relationships.reject(actor, follower)
    else:  # a Reject of an accepted follow ends it
        relationships.unfollow(follower, actor)


# -- statuses -----------------------------------------------------------------


@handles("Create")
def create(activity: dict[str, Any], actor: Account) -> None:
    document = activity.get("object")
    if isinstance(document, str):
        if not _same_host(document, actor):
            return
        document = remote.fetch_document(document)
    if not isinstance(document, dict):
        return
    ballot = parse.vote(document)
    if ballot is not None and parse.object_id(document.get("attributedTo")) == actor.uri:
        question = _status(ballot[0])
        poll = polls.for_status(question.id) if question is not None and question.local else None
        if poll is not None:
            if ballot[1] in poll.options:
                uri = document.get("id") if isinstance(document.get("id"), str) else None
                polls.receive_vote(actor, poll, poll.options.index(ballot[1]), uri=uri)
            return
    store_note(document, actor, activity)


MAX_DEPTH = 10  # how far up a reply chain unknown parents are fetched


def fetch_status(uri: str, depth: int = 0) -> Status | None:
    """The status ``uri``: stored, or fetched (with its author, and parents up to :data:`MAX_DEPTH`)."""
    found = _status(uri)
    if found is not None or depth > MAX_DEPTH or remote.authority(uri) == remote.authority(outbox.base_url()):
        return found
    try:
        document = remote.fetch_document(uri)
    except remote.Unresolvable as exc:
        log.info("status %s: %s", uri, exc)
        return None
    return fetched_status(document, depth)


def resolve(url: str) -> Account | Status | None:
    """Whatever ``url`` is (an actor or a status), fetched and stored; None if it is neither or unreachable."""
    try:
        document = remote.fetch_document(url)
    except remote.Unresolvable:
        return None
    if "inbox" in document:
        try:
            return remote.store_actor(document)
        except remote.Unresolvable:
            return None
    return fetched_status(document)


def fetched_status(document: dict[str, Any], depth: int = 0) -> Status | None:
    """Store a status document fetched by its id (its author is fetched too if new)."""
    author_uri = parse.object_id(document.get("attributedTo"))
    if not author_uri:
        return None
    try:
        author = remote.actor(author_uri)
    except remote.Unresolvable as exc:
        log.info("author of %s: %s", document.get("id"), exc)
        return None
    return store_note(document, author, None, depth)


def store_note(
    document: dict[str, Any], actor: Account, activity: dict[str, Any] | None, depth: int = 0
) -> Status | None:
    """Store a Note (or a type converted to one) by ``actor``, who must be its author, on its host.

    An unknown parent is fetched first, up a reply chain of at most
    :data:`MAX_DEPTH` statuses (beyond it, the reply is stored unthreaded).
    """
    note = _note(document, actor)
    if note is None or _deleted_first(actor, note.uri):
        return None
    known = _status(note.uri)
    if known is not None:
        return known if _by(known, actor) else None
    incoming = _incoming(note, document, actor, activity, depth)
    stored = statuses.receive_many([incoming])[0]
    if isinstance(stored, FedikitError):
        raise stored
    return _kept(stored, incoming)


def _note(document: dict[str, Any], actor: Account) -> parse.ParsedNote | None:
    """The note ``document`` says, if ``actor`` (remote) wrote it and it lives on the actor's host."""
    try:
        note = parse.note(document)
    except parse.InvalidDocument as exc:
        log.info("note from %s: %s", actor.uri, exc)
        return None
    if actor.local or note.attributed_to != actor.uri or not _same_host(note.uri, actor):
        log.info("note %s by %s refused from %s", note.uri, note.attributed_to, actor.uri)
        return None
    return note


def _by(status: Status, actor: Account) -> bool:
    if status.account_id != actor.id:
        log.info("note from %s reuses the id of account %s's status %s", actor.uri, status.account_id, status.uri)
        return False
    return True


def _incoming(
    note: parse.ParsedNote, document: dict[str, Any], actor: Account, activity: dict[str, Any] | None, depth: int
) -> statuses.Incoming:
    return statuses.Incoming(
        actor,
        uri=note.uri,
        url=note.url,
        visibility=parse.visibility(document, activity, followers_url=actor.followers_url),
        in_reply_to=fetch_status(note.in_reply_to, depth + 1) if note.in_reply_to else None,
        media=note.attachments,
        created_at=note.published,
        **_contents(note, document),
    )


def _kept(stored: Status, incoming: statuses.Incoming) -> Status | None:
    """``stored`` if it is its sender's (the custom emojis' images then copied here), else None."""
    if not _by(stored, incoming.author):
        return None
    _copy_emojis(incoming.author, list(incoming.emojis))
    return stored


def _copy_emojis(actor: Account, defined: list[dict[str, Any]]) -> None:
    """Have the images of the custom emojis a post defines copied here, those not copied yet (one job)."""
    shortcodes = [str(e["shortcode"]) for e in defined]
    if shortcodes and actor.domain and emojis.uncopied(actor.domain, shortcodes):
        jobs.enqueue(
            "activitypub.fetch_emojis", queue="pull", max_attempts=3, domain=actor.domain, shortcodes=shortcodes
        )


def _contents(note: parse.ParsedNote, document: dict[str, Any]) -> dict[str, Any]:
    """What a post says, as core takes it when it is received and when it is edited."""
    return {
        "content": note.content,
        "spoiler_text": note.spoiler_text,
        "sensitive": note.sensitive,
        "language": note.language,
        "mentioned": [found for found in map(accounts.find_by_uri, note.mentions) if found is not None],
        "tags": note.hashtags,
        "poll": parse.poll(document),
        "emojis": parse.emojis(document),
    }


@handles("Delete")
def delete(activity: dict[str, Any], actor: Account) -> None:
    uri = parse.object_id(activity.get("object"))
    if uri is None:
        return
    if uri == actor.uri:  # the account itself is gone
        accounts.remove_remote(actor)
        return
    found = _status(uri)
    if found is None and _same_host(uri, actor):  # its Create may still be on its way (jobs run in parallel)
        current().cache.set(_deleted_key(actor, uri), "1", DELETED_FIRST_KEPT_FOR)
    elif found is not None and found.account_id == actor.id and found.reblog_of_id is None:
        statuses.delete(actor, found)


DELETED_FIRST_KEPT_FOR = 6 * 3600  # seconds a Delete that came before its Create is remembered (as Mastodon)


def _deleted_key(actor: Account, uri: str) -> str:
    return f"ap:deleted:{actor.id}:{hashlib.sha256(uri.encode()).hexdigest()[:32]}"


def _deleted_first(actor: Account, uri: str) -> bool:
    """Whether ``actor`` deleted the note ``uri`` before it came: it is then not stored when it comes."""
    if current().cache.get(_deleted_key(actor, uri)) is None:
        return False
    log.info("note %s from %s came after its Delete: not stored", uri, actor.uri)
    return True


@handles("Like")
def like(activity: dict[str, Any], actor: Account) -> None:
    found = _status(parse.object_id(activity.get("object")))
    if found is not None and found.local:
        uri = activity.get("id") if isinstance(activity.get("id"), str) else None
        statuses.favourite(actor, found, uri=uri)


@handles("Announce")
def announce(activity: dict[str, Any], actor: Account) -> None:
    uri = activity.get("id")
    if not isinstance(uri, str) or not _same_host(uri, actor) or _status(uri) is not None:
        return
    boosted = parse.object_id(activity.get("object"))
    found = fetch_status(boosted) if boosted else None
    if found is None:
        return
    visibility = parse.visibility(activity, None, followers_url=actor.followers_url)
    statuses.reblog(actor, found, visibility="public" if visibility == "direct" else visibility, uri=uri)


@handles("Undo")
def undo(activity: dict[str, Any], actor: Account) -> None:
    inner = activity.get("object")
    inner_uri = parse.object_id(inner)
    kind = activity_type(inner) if isinstance(inner, dict) else None
    if kind == "Follow" or (kind is None and inner_uri and inner_uri.startswith(actor.uri + "#follows/")):
        target = _local_account(parse.object_id(inner.get("object"))) if isinstance(inner, dict) else None
        if target is not None:
            relationships.unfollow(actor, target)
        return
    if kind == "Like":
        found = _status(parse.object_id(inner.get("object")))
        if found is not None:
            statuses.unfavourite(actor, found)
        return
    if kind == "Block":
        target = _local_account(parse.object_id(inner.get("object")))
        if target is not None:
            relationships.unblock(actor, target)
        return
    boost = _status(inner_uri)  # an Announce, embedded or by id
    if boost is not None and boost.account_id == actor.id and boost.reblog_of_id is not None:
        statuses.unreblog(actor, boost.reblog)


# -- accounts -----------------------------------------------------------------


@handles("Update")
def update(activity: dict[str, Any], actor: Account) -> None:
    document = activity.get("object")
    if not isinstance(document, dict):
        return
    if document.get("id") == actor.uri:
        remote.store_actor(document)
        return
    found = _status(parse.object_id(document))
    if found is None or found.account_id != actor.id:
        return  # an edit of a status not stored here, or not the actor's
    try:
        note = parse.note(document)
    except parse.InvalidDocument as exc:
        log.info("Update from %s: %s", actor.uri, exc)
        return
    if note.attributed_to != actor.uri:
        return
    contents = _contents(note, document)
    statuses.receive_edit(actor, found, edited_at=note.updated, **contents)
    _copy_emojis(actor, contents["emojis"])


@handles("Move")
def move(activity: dict[str, Any], actor: Account) -> None:
    """The actor moved: its followers here follow the target, if the target names the actor as an alias."""
    target_uri = parse.object_id(activity.get("target"))
    if parse.object_id(activity.get("object")) != actor.uri or not target_uri or target_uri == actor.uri:
        return
    try:
        target = remote.actor(target_uri, refresh=True)  # its aliases as its server says now
    except remote.Unresolvable as exc:
        log.info("Move of %s to %s: %s", actor.uri, target_uri, exc)
        return
    accounts.move(actor, target)


@handles("Add", "Remove")
def featured(activity: dict[str, Any], actor: Account) -> None:
    """The actor pinned (Add) or unpinned (Remove) one of its statuses in its ``featured`` collection."""
    if not actor.featured_url or parse.object_id(activity.get("target")) != actor.featured_url:
        return
    uri = parse.object_id(activity.get("object"))
    if not uri or not _same_host(uri, actor):
        return
    found = fetch_status(uri) if activity_type(activity) == "Add" else _status(uri)
    if found is None or found.account_id != actor.id:
        return
    if activity_type(activity) == "Add":
        statuses.pin(actor, found)
    else:
        statuses.unpin(actor, found)


MAX_FEATURED = 20  # pinned posts read from another server's featured collection


def fetch_featured(account_id: int) -> None:
    """The ``activitypub.fetch_featured`` job: a remote account's pinned posts, from its ``featured``
    collection (read whenever its actor is: on discovery and on each Update).

    Only its own posts on its own server count, each fetched by its id (an
    embedded copy is not trusted); pins it no longer lists are removed. Add and
    Remove activities keep the pins current in between.
    """
    account = db.session.get(Account, account_id)
    if account is None or account.local or account.suspended_at is not None or not account.featured_url:
        return
    try:
        collection = remote.fetch_document(account.featured_url)
        items = parse.as_list(collection.get("orderedItems") or collection.get("items"))
        first = collection.get("first")
        if not items and first is not None:  # paged: the first page (embedded, or on the same server)
            page = first if isinstance(first, dict) else {}
            if not page and _same_host(parse.object_id(first), account):
                page = remote.fetch_document(parse.object_id(first) or "")
            items = parse.as_list(page.get("orderedItems") or page.get("items"))
    except remote.Unresolvable as exc:
        log.info("featured collection of %s: %s", account.uri, exc)
        return
    uris = [uri for uri in map(parse.object_id, items[:MAX_FEATURED]) if uri and _same_host(uri, account)]
    featured = [found for uri in uris if (found := _featured_status(uri, account)) is not None]
    listed = {found.id for found in featured}
    for found in featured:
        if found.reblog_of_id is None and found.visibility != "direct":
            statuses.pin(account, found)
    for pinned in statuses.pinned_by(account):
        if pinned.id not in listed:
            statuses.unpin(account, pinned)


def _featured_status(uri: str, account: Account) -> Status | None:
    """A post of ``account``'s featured collection: stored, or fetched and stored if it is the account's own.

    Stored at the reply-chain limit, and never with another author: reading
    one account's pins does not spread into reading the accounts of whole
    threads (and their featured collections in turn).
    """
    found = _status(uri)
    if found is None:
        try:
            found = store_note(remote.fetch_document(uri), account, None, depth=MAX_DEPTH)
        except remote.Unresolvable as exc:
            log.info("featured post %s: %s", uri, exc)
            return None
    return found if found is not None and found.account_id == account.id else None


@handles("Flag")
def flag(activity: dict[str, Any], actor: Account) -> None:
    """A report from another server about local accounts (and their statuses) named in ``object``."""
    named = [uri for uri in map(parse.object_id, parse.as_list(activity.get("object"))[:101]) if uri]
    targets = [found for found in map(_local_account, named) if found is not None]
    reported = [found for found in map(_status, named) if found is not None and found.local]
    comment = activity.get("content") if isinstance(activity.get("content"), str) else ""
    for target in targets:
        reports.receive(actor, target, [s for s in reported if s.account_id == target.id], comment)


@handles("Block")
def block(activity: dict[str, Any], actor: Account) -> None:
    target = _local_account(parse.object_id(activity.get("object")))
    if target is not None:
        relationships.block(actor, target)
