"""Scheduled statuses: kept as the parameters of a post, published by a job when their time comes.

Mastodon's rules: at least five minutes ahead, at most 25 a day and 300 in
all per account; a scheduled status that can no longer be posted (its media
or the status it answers are gone) is dropped when its time comes.

The job is queued with a delay. A queue that does not keep jobs across a
restart (``durable = False``) loses those delays: :func:`publish_due_job`
publishes whatever is overdue and is meant to be run periodically as well.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select

from fedikit.core import jobs
from fedikit.core.db import db, utcnow
from fedikit.core.errors import NotFound, ValidationError
from fedikit.core.models import Account, ScheduledStatus, Status
from fedikit.core.services import polls
from fedikit.core.services import statuses as status_service
from fedikit.plugin_api import FedikitError, PostDraft

log = logging.getLogger("fedikit.scheduled")

MIN_OFFSET = dt.timedelta(minutes=5)
DAILY_LIMIT = 25
TOTAL_LIMIT = 300
PUBLISH_JOB = "core.publish_scheduled_status"
PUBLISH_DUE_JOB = "core.publish_due_scheduled_statuses"
MAX_DUE_PER_RUN = 500


def parse_time(raw: str) -> dt.datetime:
    """An ISO 8601 timestamp (a ``Z`` or an offset; none means UTC), else ValidationError."""
    text = raw.strip()
    if len(text) > 64:
        raise ValidationError("Validation failed: scheduled_at is not a valid date")
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValidationError("Validation failed: scheduled_at is not a valid date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def is_past(moment: dt.datetime) -> bool:
    """Mastodon posts at once when ``scheduled_at`` has already passed."""
    return moment <= utcnow()


def _check_time(account: Account, moment: dt.datetime, exclude_id: int | None = None) -> None:
    if moment < utcnow() + MIN_OFFSET:
        raise ValidationError("Validation failed: Scheduled at must be at least 5 minutes in the future")
    query = select(func.count()).select_from(ScheduledStatus).where(ScheduledStatus.account_id == account.id)
    if exclude_id is not None:
        query = query.where(ScheduledStatus.id != exclude_id)
    if (db.session.scalar(query) or 0) >= TOTAL_LIMIT:
        raise ValidationError(f"Validation failed: you cannot schedule more than {TOTAL_LIMIT} posts")
    start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + dt.timedelta(days=1)
    same_day = query.where(ScheduledStatus.scheduled_at >= start, ScheduledStatus.scheduled_at < end)
    if (db.session.scalar(same_day) or 0) >= DAILY_LIMIT:
        raise ValidationError(f"Validation failed: you cannot schedule more than {DAILY_LIMIT} posts on one day")


def schedule(
    account: Account,
    moment: dt.datetime,
    text: str,
    *,
    spoiler_text: str = "",
    sensitive: bool = False,
    visibility: str = "public",
    language: str | None = None,
    in_reply_to: Status | None = None,
    media_ids: list[int] | tuple[int, ...] = (),
    application_id: int | None = None,
    poll: polls.PollSpec | None = None,
    idempotency: str | None = None,
) -> ScheduledStatus:
    """Keep a post for ``moment``; it is checked now as it would be when posted (ValidationError, 422)."""
    _check_time(account, moment)
    if poll is not None and media_ids:
        raise ValidationError("Validation failed: a status with a poll cannot have media attachments")
    # The same checks as posting (moderation filters included: a refusal is better heard now than lost later).
    status_service._check_draft(
        PostDraft(
            author=account,
            text=text,
            spoiler_text=spoiler_text or "",
            sensitive=bool(sensitive or spoiler_text),
            visibility=status_service._visibility(visibility),
            language=status_service._language(language),
            media_ids=tuple(int(m) for m in media_ids),
            in_reply_to_id=in_reply_to.id if in_reply_to else None,
        )
    )
    status_service._media(account, media_ids)
    row = ScheduledStatus(
        account_id=account.id,
        scheduled_at=moment,
        params={
            "text": text,
            "spoiler_text": spoiler_text or None,
            "sensitive": bool(sensitive),
            "visibility": status_service._visibility(visibility).value,
            "language": status_service._language(language),
            "in_reply_to_id": in_reply_to.id if in_reply_to else None,
            "media_ids": [str(m) for m in media_ids] or None,
            "poll": poll.as_params() if poll is not None else None,
            "application_id": application_id or 0,
            "with_rate_limit": False,
            "idempotency": idempotency,
            "scheduled_at": None,
        },
    )
    db.session.add(row)
    db.session.flush()
    _queue(row)
    db.session.commit()
    return row


def reschedule(row: ScheduledStatus, moment: dt.datetime) -> ScheduledStatus:
    account = db.session.get(Account, row.account_id)
    _check_time(account, moment, exclude_id=row.id)
    row.scheduled_at = moment
    db.session.flush()
    _queue(row)
    db.session.commit()
    return row


def cancel(row: ScheduledStatus) -> None:
    db.session.delete(row)
    db.session.commit()


def owned(account: Account, scheduled_id: int | None) -> ScheduledStatus:
    row = db.session.get(ScheduledStatus, scheduled_id) if scheduled_id is not None else None
    if row is None or row.account_id != account.id:
        raise NotFound("Record not found")
    return row


def _queue(row: ScheduledStatus) -> None:
    delay = max(0.0, (row.scheduled_at - utcnow()).total_seconds())
    jobs.enqueue(PUBLISH_JOB, delay=delay, scheduled_status_id=row.id, scheduled_at=row.scheduled_at.isoformat())


def publish_job(scheduled_status_id: int, scheduled_at: str | None = None) -> None:
    """Post a scheduled status whose time has come.

    A job for a time that was since moved does nothing (the move queued its
    own); one that runs early (a queue rounding its delays) is queued again.
    """
    row = db.session.get(ScheduledStatus, scheduled_status_id)
    if row is None:
        return
    if (
        scheduled_at is not None
        and abs((row.scheduled_at - dt.datetime.fromisoformat(scheduled_at)).total_seconds()) > 1
    ):
        return
    if row.scheduled_at > utcnow():
        _queue(row)
        return
    publish(row)


def publish(row: ScheduledStatus) -> Status | None:
    """Claim the row (deleted first: a post is made at most once), then post it; None if it was dropped."""
    account_id, params, row_id = row.account_id, dict(row.params or {}), row.id
    claimed = db.session.execute(sql_delete(ScheduledStatus).where(ScheduledStatus.id == row_id))
    db.session.commit()
    if claimed.rowcount == 0:  # another worker took it
        return None
    account = db.session.get(Account, account_id)
    if account is None or account.suspended_at is not None:
        return None
    try:
        return _post(account, params)
    except FedikitError as exc:
        db.session.rollback()
        log.warning("scheduled status %s of account %s dropped: %s", row_id, account_id, exc)
        return None


def _post(account: Account, params: dict[str, Any]) -> Status:
    in_reply_to = None
    if params.get("in_reply_to_id"):
        in_reply_to = db.session.get(Status, int(params["in_reply_to_id"]))
        if in_reply_to is None:
            raise NotFound("the status it answers is gone")
    return status_service.post(
        account,
        params.get("text") or "",
        spoiler_text=params.get("spoiler_text") or "",
        sensitive=bool(params.get("sensitive")),
        visibility=params.get("visibility") or "public",
        language=params.get("language"),
        in_reply_to=in_reply_to,
        media_ids=[int(m) for m in params.get("media_ids") or []],
        application_id=params.get("application_id") or None,
        poll=polls.from_params(params.get("poll")),
    )


def publish_due_job() -> None:
    """Publish every overdue scheduled status (a sweep for queues that lost their delayed jobs)."""
    due = list(
        db.session.scalars(
            select(ScheduledStatus)
            .where(ScheduledStatus.scheduled_at <= utcnow())
            .order_by(ScheduledStatus.scheduled_at)
            .limit(MAX_DUE_PER_RUN)
        )
    )
    for row in due:
        publish(row)


JOBS = {PUBLISH_JOB: publish_job, PUBLISH_DUE_JOB: publish_due_job}
