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
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, request

from fedikit.core import jobs
from fedikit.core.models import Account
from fedikit.core.services import accounts
from fedikit.core.state import current
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


KEYS_KEPT_FOR = 300.0  # seconds a verified key is trusted without reading its account again
KEYS_KEPT = 10_000  # keys one process keeps at most


class VerifiedKeys:
    """The keys that verified a signature lately, by key id: each with its owner's actor id, kept for
    :data:`KEYS_KEPT_FOR` seconds. A signature that fails with a kept key has the key fetched anew (the actor may
    have rotated it), as one that fails with the stored key does; a key the actor replaced is trusted by a
    process that kept it for at most that long."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key_uri: str) -> tuple[str, str] | None:
        """``(owner actor id, public key PEM)``, if verified lately."""
        found = self._kept.get(key_uri)
        if found is None or found[2] < time.monotonic():
            return None
        return found[0], found[1]

    def put(self, key_uri: str, owner_uri: str, public_key: str) -> None:
        with self._lock:
            if len(self._kept) >= KEYS_KEPT:
                self._kept.clear()
            self._kept[key_uri] = (owner_uri, public_key, time.monotonic() + KEYS_KEPT_FOR)


def verified_keys() -> VerifiedKeys:
    return current().memo.setdefault("activitypub.verified_keys", VerifiedKeys())


def signer(body: bytes | None) -> Account:
    """The actor whose key signed this request (fetched and stored if new); 401 when none did."""
    account = accounts.find_by_uri(signer_uri(body))
    if account is None:  # removed since its key was kept
        abort(401, "Signed by an unknown actor")
    return account


def signer_uri(body: bytes | None) -> str:
    """The actor id of whoever signed this request (its account fetched and stored if new); 401 when none did.

    A key that verified a signature lately is trusted again without a query (:class:`VerifiedKeys`).
    """
    found: dict[str, str] = {}
    kept = verified_keys()

    def lookup(key_uri: str, refresh: bool) -> str | None:
        if remote.suspended(key_uri):
            raise DomainSuspended(remote.authority(key_uri))
        known = None if refresh else kept.get(key_uri)
        if known is not None:
            found["uri"], found["key"] = known
            found.pop("read", None)  # kept: its time is not extended by this use
            return known[1]
        try:
            account = remote.actor_for_key(key_uri, refresh=refresh)
        except remote.Unresolvable as exc:
            log.info("key %s: %s", key_uri, exc)
            return None
        found["uri"], found["key"], found["read"] = account.uri, account.public_key or "", "yes"
        return account.public_key or None

    if "Signature" not in request.headers and "Signature-Input" not in request.headers:
        abort(401, "Request not signed")
    # The signed Host must be this instance's: a request signed for another server (and replayed
    # here by it) does not verify, whatever Host header the replay carries.
    headers = {name: value for name, value in request.headers.items() if name.lower() != "host"}
    headers["Host"] = urlsplit(current_app.config["BASE_URL"]).netloc
    try:
        key_uri = verify(request.method, request_url(), headers, body, lookup)
    except SignatureError as exc:
        abort(401, str(exc))
    except DomainSuspended as exc:
        abort(403, f"{exc} is suspended by this instance")
    if "read" in found:  # read from the database or fetched just now
        kept.put(key_uri, found["uri"], found["key"])
    return found["uri"]


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
    signed_by = signer_uri(body)
    if parse.object_id(activity.get("actor")) != signed_by:
        abort(401, f"Signed by {signed_by}, not by the activity's actor")
    jobs.enqueue("activitypub.process", queue="ingress", activity=activity, actor=signed_by)
    return Response(status=202)
