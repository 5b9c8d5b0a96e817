"""Sending activities to remote inboxes: signed, batched, concurrent, retried on Mastodon's schedule.

:func:`send` splits the inboxes (deduplicated) into batches of
:data:`BATCH_SIZE`; each batch is one ``activitypub.deliver`` job on the
``push`` queue. A job signs the body once per inbox with the sender's key and
posts to its inboxes concurrently over the fetcher's pooled connections.
Inboxes that fail in a way a later try may cure (no answer, 5xx, 401, 408,
429) go into one follow-up job, delayed by :func:`~fedikit.plugin_api.retry_delay`
(``attempt**4 + 15`` s and jitter), for up to :data:`MAX_ATTEMPTS` tries in
all (about two days); other 4xx answers and 501 end the delivery at once,
as Mastodon does.

Domain health (:mod:`fedikit.core.services.remote_instances`), as Mastodon's
``ActivityPub::DeliveryWorker`` keeps it: every try to an inbox that fails in
a retriable way records the day as a failing day of its domain (a day counts
once; seven distinct days mark the domain unavailable); a 2xx records a
success, which clears them; an unsalvageable answer records neither. Inboxes
on unavailable domains are left out by :func:`send` and dropped from retries,
until a delivery to the domain succeeds again.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.services import remote_instances
from fedikit.plugin_api import retry_delay
from fedikit.plugins.activitypub import remote
from fedikit.plugins.activitypub.fetch import BlockedAddress, FetchError, RemoteFetcher
from fedikit.plugins.activitypub.keys import ensure_keys, key_id
from fedikit.plugins.activitypub.signatures import ACTIVITY_JSON, sign_request

log = logging.getLogger("fedikit.activitypub.delivery")

BATCH_SIZE = 50
MAX_ATTEMPTS = 16
CONCURRENCY = 8
DELIVERED, RETRY, GIVE_UP = "delivered", "retry", "give up"


def outcome(status_code: int) -> str:
    """What an inbox's answer means for this delivery (Mastodon's ``response_error_unsalvageable?``)."""
    if 200 <= status_code < 300:
        return DELIVERED
    if (400 <= status_code < 500 and status_code not in (401, 408, 429)) or status_code == 501:
        return GIVE_UP
    return RETRY


def send(activity: dict[str, Any], inboxes: Iterable[str], sender: Account) -> int:
    """Queue delivery of ``activity``, signed by local ``sender``, to each inbox once; the number of jobs.

    Inboxes on domains marked unavailable are skipped (Mastodon's ``without_unavailable``).
    """
    unique = _available(sorted({inbox for inbox in inboxes if inbox}))
    for start in range(0, len(unique), BATCH_SIZE):
        jobs.enqueue(
            "activitypub.deliver",
            queue="push",
            max_attempts=1,  # retries are per inbox, by this module
            activity=activity,
            inboxes=unique[start : start + BATCH_SIZE],
            sender_id=sender.id,
        )
    return (len(unique) + BATCH_SIZE - 1) // BATCH_SIZE


def deliver(activity: dict[str, Any], inboxes: list[str], sender_id: int, attempt: int = 1) -> None:
    """The ``activitypub.deliver`` job: post to every inbox of the batch; queue one retry for the rest."""
    sender = db.session.get(Account, sender_id)
    if sender is None or not sender.local:
        log.info("delivery dropped: sender %s is gone", sender_id)
        return
    inboxes = _available(inboxes)
    if not inboxes:
        return
    private_pem, _ = ensure_keys(sender)
    signing = (key_id(sender), private_pem)
    body = json.dumps(activity).encode("utf-8")
    client = remote.fetcher()
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(inboxes)) or 1) as pool:
        results = list(pool.map(lambda inbox: _post(client, inbox, body, signing), inboxes))
    again = [inbox for inbox, result in zip(inboxes, results, strict=True) if result == RETRY]
    _record_health(inboxes, results)
    if not again:
        return
    if attempt >= MAX_ATTEMPTS:
        log.warning("giving up on %d inbox(es) after %d tries: %s", len(again), attempt, ", ".join(again))
        return
    jobs.enqueue(
        "activitypub.deliver",
        queue="push",
        max_attempts=1,
        delay=retry_delay(attempt, jitter=secrets.randbelow(1000) / 1000),
        activity=activity,
        inboxes=again,
        sender_id=sender_id,
        attempt=attempt + 1,
    )


def _available(inboxes: list[str]) -> list[str]:
    """``inboxes`` without those on domains marked unavailable (one query)."""
    down = remote_instances.unavailable({remote.authority(inbox) for inbox in inboxes})
    if not down:
        return inboxes
    skipped = [inbox for inbox in inboxes if remote.authority(inbox) in down]
    log.info("not delivering to %d inbox(es) on unavailable domains: %s", len(skipped), ", ".join(skipped))
    return [inbox for inbox in inboxes if remote.authority(inbox) not in down]


def _record_health(inboxes: list[str], results: list[str]) -> None:
    """Record each domain of the batch once: a success if any of its inboxes took the activity, else a failure.

    A failure is a retriable one (no answer, 5xx, 401, 408, 429): an
    unsalvageable answer proves the server is up, so it counts as neither.
    """
    delivered = {remote.authority(i) for i, result in zip(inboxes, results, strict=True) if result == DELIVERED}
    failed = {remote.authority(i) for i, result in zip(inboxes, results, strict=True) if result == RETRY}
    remote_instances.record_success(*delivered)
    for domain in sorted(failed - delivered):
        if remote_instances.record_failure(domain):
            log.warning(
                "%s is now unavailable: deliveries to it failed on %d days",
                domain,
                remote_instances.FAILURE_DAYS_THRESHOLD,
            )


def _post(client: RemoteFetcher, inbox: str, body: bytes, signing: tuple[str, str]) -> str:
    headers = sign_request("POST", inbox, {"Content-Type": ACTIVITY_JSON}, body, *signing)
    try:
        status_code = client.post(inbox, body, headers)
    except BlockedAddress as exc:
        log.info("delivery to %s refused: %s", inbox, exc)
        return GIVE_UP
    except FetchError as exc:
        log.info("delivery to %s failed: %s", inbox, exc)
        return RETRY
    result = outcome(status_code)
    if result != DELIVERED:
        log.info("delivery to %s answered %d (%s)", inbox, status_code, result)
    return result
