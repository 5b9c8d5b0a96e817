"""Accepting what other servers POST: size cap, signature, origin; the work itself is a job.

An inbox POST is answered as Mastodon answers it: 413 for a body over 1 MB,
400 for one that is not a JSON activity, 401 when the signature is missing
or does not verify or was made by someone other than the activity's actor,
403 when the signing key is on a domain the admin suspended (its key is not
even fetched),
and 202 once the activity is queued (``activitypub.process`` on the
``ingress`` queue). Checks that need the activity's objects (whose host an
object lives on, who wrote it) run in the job, in :mod:`.handlers`.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, request

from fedikit.core import jobs
from fedikit.core.models import Account
from fedikit.plugins.activitypub import parse, remote
from fedikit.plugins.activitypub.signatures import SignatureError, verify

log = logging.getLogger("fedikit.activitypub.inbox")

MAX_BODY = 1024 * 1024  # Mastodon's MAX_JSON_SIZE


class DomainSuspended(Exception):
    """The request was signed with a key from a domain the admin suspended (Mastodon answers 403)."""


def request_url() -> str:
    """The URL the sender addressed: this instance's base URL with the request's path and query."""
    query = request.query_string.decode("latin-1")
    return current_app.config["BASE_URL"] + request.path + (f"?{query}" if query else "")


def signer(body: bytes | None) -> Account:
    """The actor whose key signed this request (fetched and stored if new); 401 when none did."""
    found: dict[str, Account] = {}

    def lookup(key_uri: str, refresh: bool) -> str | None:
        if remote.suspended(key_uri):
            raise DomainSuspended(remote.authority(key_uri))
        try:
            account = remote.actor_for_key(key_uri, refresh=refresh)
        except remote.Unresolvable as exc:
            log.info("key %s: %s", key_uri, exc)
            return None
        found["account"] = account
        return account.public_key or None

    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        abort(401, "Request not signed")
    # The signed Host must be this instance's: a request signed for another server (and replayed
    # here by it) does not verify, whatever Host header the replay carries.
    headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
    headers["Host"] = urlsplit(current_app.config["BASE_URL"]).netloc
    try:
        verify(request.method, request_url(), headers, body, lookup)
    except SignatureError as exc:
        abort(401, str(exc))
    except DomainSuspended as exc:
        abort(403, f"{exc} is suspended by this instance")
    return found["account"]


def optional_signer() -> Account | None:
    """The signer of a GET when it is signed (401 if the signature is bad), else None."""
    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        return None
    return signer(None)


def read_body() -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        abort(413, "Payload too large")
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        abort(413, "Payload too large")
    return body


def receive() -> Response:
    """Handle one inbox POST (personal or shared inbox: both are handled alike)."""
    body = read_body()
    try:
        activity: Any = json.loads(body)
    except ValueError:
        abort(400, "Error parsing JSON")
    if not isinstance(activity, dict) or not isinstance(activity.get("type"), str | list):
        abort(400, "Not an activity")
    account = signer(body)
    actor_uri = parse.object_id(activity.get("actor"))
    if actor_uri != account.uri:
        abort(401, f"Signed by {account.uri}, not by the activity's actor")
    jobs.enqueue("activitypub.process", queue="ingress", activity=activity, actor=account.uri)
    return Response(status=202)
