"""ActivityPub endpoints: actors, statuses and collections as JSON for servers; inboxes.

The actor and status URLs are the ids other servers know us by. They answer
``application/activity+json`` to a request that asks for ActivityPub JSON
(its ``Accept`` names ``application/activity+json`` or ``application/ld+json``)
and send anyone else to the web page of the same thing. Documents are served
unsigned requests too, except with ``AUTHORIZED_FETCH=true`` (Mastodon's
secure mode), where every GET but the instance actor's must be signed.
Followers-only and direct statuses are served only to a signed request from
an actor core says may see them; to anyone else they do not exist (404).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, request

from fedikit.core.db import db
from fedikit.core.models import Account, Status
from fedikit.core.services import accounts
from fedikit.core.visibility import PUBLIC_VISIBILITIES, can_see
from fedikit.plugins.activitypub import documents, inbox, outbox
from fedikit.plugins.activitypub.keys import INSTANCE_ACTOR_PATH, ensure_keys, instance_actor

ACTIVITY_JSON = "application/activity+json; charset=utf-8"

bp = Blueprint("activitypub", __name__)


def wants_activity_json() -> bool:
    accept = request.headers.get("Accept", "")
    return "application/activity+json" in accept or "application/ld+json" in accept


def as_activity_json(document: dict[str, Any], *, public: bool = True) -> Response:
    response = Response(json.dumps(document), content_type=ACTIVITY_JSON)
    response.headers["Vary"] = "Accept, Signature"
    response.headers["Cache-Control"] = "max-age=180, public" if public else "max-age=0, private"
    return response


def _fetching_account() -> Account | None:
    """Who signed this GET (None: nobody); with AUTHORIZED_FETCH an unsigned GET is refused (401)."""
    signed_by = inbox.optional_signer()
    if signed_by is None and current_app.config["AUTHORIZED_FETCH"]:
        abort(401, "Request not signed")
    return signed_by


def _local_account(username: str) -> Account:
    account = accounts.find_local(username)
    if account is None or account.uri == current_app.config["BASE_URL"] + INSTANCE_ACTOR_PATH:
        abort(404)
    if account.suspended_at is not None:
        abort(410)
    return account


@bp.get(INSTANCE_ACTOR_PATH)
def instance() -> Response:
    """The instance actor: never needs a signature (servers in secure mode fetch it to check ours)."""
    actor = instance_actor()
    if not wants_activity_json():
        return redirect(actor.url or "/")
    return as_activity_json(documents.instance_actor(**outbox.instance_actor_fields(actor)))


@bp.get("/users/<username>")
def actor(username: str) -> Response:
    account = _local_account(username)
    if not wants_activity_json():
        return redirect(account.url or "/")
    _fetching_account()
    ensure_keys(account)
    return as_activity_json(outbox.actor_document(account))


@bp.get("/users/<username>/statuses/<int:status_id>")
def status(username: str, status_id: int) -> Response:
    account = _local_account(username)
    found = db.session.get(Status, status_id)
    if found is not None and (found.account_id != account.id or found.reblog_of_id is not None):
        found = None
    if found is None:
        abort(404)
    if not wants_activity_json():
        return redirect(found.url or "/")
    viewer = _fetching_account()
    if found.visibility not in PUBLIC_VISIBILITIES and (viewer is None or not can_see(viewer, found)):
        abort(404)
    document = {"@context": documents.CONTEXT, **outbox.note_document(found)}
    return as_activity_json(document, public=found.visibility in PUBLIC_VISIBILITIES)


@bp.get("/users/<username>/outbox")
def outbox_collection(username: str) -> Response:
    account = _local_account(username)
    _fetching_account()
    return as_activity_json(documents.ordered_collection(f"{account.uri}/outbox", account.statuses_count))


@bp.get("/users/<username>/followers")
def followers(username: str) -> Response:
    account = _local_account(username)
    _fetching_account()
    return as_activity_json(documents.ordered_collection(f"{account.uri}/followers", account.followers_count))


@bp.get("/users/<username>/following")
def following(username: str) -> Response:
    account = _local_account(username)
    _fetching_account()
    return as_activity_json(documents.ordered_collection(f"{account.uri}/following", account.following_count))


@bp.get("/users/<username>/collections/featured")
def featured(username: str) -> Response:
    """The pinned statuses (the public and unlisted ones: this collection is for anyone)."""
    account = _local_account(username)
    _fetching_account()
    pinned = outbox.pinned_statuses(account)
    document = documents.ordered_collection(f"{account.uri}/collections/featured", len(pinned))
    document["orderedItems"] = [outbox.note_document(status) for status in pinned]
    return as_activity_json(document)


@bp.get("/users/<username>/collections/tags")
def featured_tags(username: str) -> Response:
    """The hashtags the account features on its profile, as Hashtag objects."""
    account = _local_account(username)
    _fetching_account()
    tags = outbox.featured_tag_names(account)
    document = documents.ordered_collection(f"{account.uri}/collections/tags", len(tags))
    base = current_app.config["BASE_URL"]
    document["orderedItems"] = [{"type": "Hashtag", "href": f"{base}/tags/{name}", "name": f"#{name}"} for name in tags]
    return as_activity_json(document)


@bp.post("/users/<username>/inbox")
def personal_inbox(username: str) -> Response:
    _local_account(username)
    return inbox.receive()


@bp.post("/inbox")
def shared_inbox() -> Response:
    return inbox.receive()
