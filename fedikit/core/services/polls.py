"""Polls: validating what a client asks for, voting, and telling people when a poll ends.

Limits are Mastodon's (``PollOptionsValidator``, ``PollExpirationValidator``)
and are what ``/api/v2/instance`` announces under ``configuration.polls``.
Every collection from a request is bounded before it is looked at in detail
(CVE-2026-23962: unbounded poll options).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from fedikit.core import jobs
from fedikit.core.db import db, utcnow
from fedikit.core.errors import Forbidden, NotFound, ValidationError
from fedikit.core.models import Account, Block, Notification, Poll, PollVote, Status
from fedikit.core.services.notifications import notify
from fedikit.core.state import current
from fedikit.core.visibility import can_see

log = logging.getLogger("fedikit.polls")

MAX_OPTIONS = 4
MAX_OPTION_CHARS = 50
MIN_EXPIRATION = 300  # seconds: 5 minutes
MAX_EXPIRATION = 2_629_746  # seconds: one month
LIMITS = {
    "max_options": MAX_OPTIONS,
    "max_characters_per_option": MAX_OPTION_CHARS,
    "min_expiration": MIN_EXPIRATION,
    "max_expiration": MAX_EXPIRATION,
}

EXPIRE_JOB = "core.poll_expired"


@dataclasses.dataclass(frozen=True)
class PollSpec:
    """A validated poll as a client asked for it."""

    options: tuple[str, ...]
    expires_in: int
    multiple: bool = False
    hide_totals: bool = False

    def as_params(self) -> dict[str, Any]:
        """The JSON form kept with a scheduled status (Mastodon's ``params.poll``)."""
        return {
            "options": list(self.options),
            "expires_in": self.expires_in,
            "multiple": self.multiple,
            "hide_totals": self.hide_totals,
        }


def spec(options: Sequence[Any], expires_in: Any, *, multiple: bool = False, hide_totals: bool = False) -> PollSpec:
    """Check a poll request; raises ValidationError (422) with Mastodon's reasons."""
    if len(options) > MAX_OPTIONS:  # before stripping or measuring anything (CVE-2026-23962)
        raise ValidationError(f"Validation failed: Poll options must not have more than {MAX_OPTIONS} items")
    cleaned = tuple(str(o).strip() for o in options if o is not None and str(o).strip())
    if len(cleaned) < 2:
        raise ValidationError("Validation failed: Poll options must have at least 2 items")
    if any(len(o) > MAX_OPTION_CHARS for o in cleaned):
        raise ValidationError(
            f"Validation failed: Poll options cannot be longer than {MAX_OPTION_CHARS} characters each"
        )
    if len(set(cleaned)) != len(cleaned):
        raise ValidationError("Validation failed: Poll options contain duplicate items")
    if expires_in is None or expires_in == "":
        raise ValidationError("Validation failed: Poll expires in can't be blank")
    try:
        seconds = int(str(expires_in).strip())
    except ValueError:
        raise ValidationError("Validation failed: Poll expires in must be a whole number of seconds") from None
    if seconds < MIN_EXPIRATION:
        raise ValidationError("Validation failed: Poll duration is too short")
    if seconds > MAX_EXPIRATION:
        raise ValidationError("Validation failed: Poll duration is too long")
    return PollSpec(options=cleaned, expires_in=seconds, multiple=bool(multiple), hide_totals=bool(hide_totals))


def from_params(raw: dict[str, Any] | None) -> PollSpec | None:
    """A PollSpec from a scheduled status's stored ``params.poll`` (validated again)."""
    if not raw:
        return None
    return spec(
        raw.get("options") or [],
        raw.get("expires_in"),
        multiple=bool(raw.get("multiple")),
        hide_totals=bool(raw.get("hide_totals")),
    )


def expired(poll: Poll, now: dt.datetime | None = None) -> bool:
    return poll.expires_at is not None and poll.expires_at <= (now or utcnow())


def for_status(status_id: int) -> Poll | None:
    return db.session.scalar(select(Poll).where(Poll.status_id == status_id))


def attach(status: Status, author: Account, wanted: PollSpec) -> Poll:
    """A new poll on ``status`` (added to the session; the caller commits), with its end scheduled."""
    poll = Poll(
        status_id=status.id,
        account_id=author.id,
        options=list(wanted.options),
        tallies=[0] * len(wanted.options),
        multiple=wanted.multiple,
        hide_totals=wanted.hide_totals,
        expires_at=utcnow() + dt.timedelta(seconds=wanted.expires_in),
    )
    db.session.add(poll)
    db.session.flush()
    _schedule_end(poll)
    return poll


MAX_REMOTE_OPTIONS = 16  # bounds on what another server may send
MAX_REMOTE_OPTION_CHARS = 255


def attach_remote(
    status: Status,
    author: Account,
    *,
    options: Sequence[str],
    tallies: Sequence[int],
    multiple: bool,
    expires_at: dt.datetime | None,
    voters_count: int | None = None,
) -> Poll:
    """The poll of a received remote status, with the counts its server reports (added to the session)."""
    kept = [str(option)[:MAX_REMOTE_OPTION_CHARS] for option in options[:MAX_REMOTE_OPTIONS]]
    poll = Poll(status_id=status.id, account_id=author.id, options=kept, multiple=multiple, expires_at=expires_at)
    _set_remote_counts(poll, tallies, voters_count)
    db.session.add(poll)
    db.session.flush()
    if expires_at is not None:
        _schedule_end(poll)
    return poll


def refresh_remote(
    poll: Poll, tallies: Sequence[int], voters_count: int | None, expires_at: dt.datetime | None
) -> None:
    """New counts (and end) a remote poll's server reports; its options stay as they were."""
    _set_remote_counts(poll, tallies, voters_count)
    if expires_at is not None and expires_at != poll.expires_at:
        poll.expires_at = expires_at
        db.session.flush()
        _schedule_end(poll)


def _set_remote_counts(poll: Poll, tallies: Sequence[int], voters_count: int | None) -> None:
    counts = [max(0, int(t)) if isinstance(t, int) else 0 for t in tallies[: len(poll.options)]]
    poll.tallies = counts + [0] * (len(poll.options) - len(counts))
    poll.votes_count = sum(poll.tallies)
    poll.voters_count = max(0, voters_count) if isinstance(voters_count, int) else poll.votes_count


def receive_vote(account: Account, poll: Poll, choice: int, *, uri: str | None = None) -> bool:
    """One choice of a remote voter in a local poll (their server sends each choice on its own).

    False (nothing stored) for a vote that does not count: the poll is not
    local or has ended, the choice does not exist, the voter is its author,
    or a single-choice poll they already voted in. A repeated choice is
    stored once.
    """
    status = db.session.get(Status, poll.status_id)
    author = db.session.get(Account, poll.account_id)
    if status is None or author is None or not author.local or not can_see(account, status):
        return False
    if expired(poll) or not 0 <= choice < len(poll.options) or poll.account_id == account.id:
        return False
    locked = db.session.scalar(select(Poll).where(Poll.id == poll.id).with_for_update())
    earlier = set(
        db.session.scalars(
            select(PollVote.choice).where(PollVote.poll_id == poll.id, PollVote.account_id == account.id)
        )
    )
    if choice in earlier or (earlier and not poll.multiple):
        return False
    db.session.add(PollVote(poll_id=poll.id, account_id=account.id, choice=choice, uri=uri))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    _recount(locked)
    db.session.commit()
    return True


def replace(poll: Poll, wanted: PollSpec) -> bool:
    """Change a poll as an edit asks; returns whether its options changed (its votes are then reset).

    As Mastodon: new options or a switch between single and multiple choice
    throw away every vote; the end is counted again from now.
    """
    reset = list(wanted.options) != list(poll.options) or wanted.multiple != poll.multiple
    poll.options = list(wanted.options)
    poll.multiple = wanted.multiple
    poll.hide_totals = wanted.hide_totals
    poll.expires_at = utcnow() + dt.timedelta(seconds=wanted.expires_in)
    if reset:
        db.session.execute(sql_delete(PollVote).where(PollVote.poll_id == poll.id))
        poll.tallies = [0] * len(poll.options)
        poll.votes_count = 0
        poll.voters_count = 0
    db.session.flush()
    _schedule_end(poll)
    return reset


def _schedule_end(poll: Poll) -> None:
    delay = max(0.0, (poll.expires_at - utcnow()).total_seconds()) if poll.expires_at else 0.0
    jobs.enqueue(EXPIRE_JOB, delay=delay, poll_id=poll.id, expires_at=poll.expires_at.isoformat())


def vote(account: Account, poll: Poll, choices: Sequence[Any]) -> Poll:
    """Record ``account``'s choices; raises NotFound, Forbidden or ValidationError (Mastodon's 404/403/422)."""
    status = db.session.get(Status, poll.status_id)
    if status is None or not can_see(account, status):
        raise NotFound("Record not found")
    if db.session.scalar(
        select(exists().where(Block.account_id == account.id, Block.target_account_id == poll.account_id))
    ):
        raise Forbidden("This action is not allowed")
    if len(choices) > len(poll.options):  # bounded before anything else is looked at
        raise ValidationError("Validation failed: That vote option does not exist")
    picked: list[int] = []
    for raw in choices:
        try:
            choice = int(str(raw).strip())
        except ValueError:
            raise ValidationError("Validation failed: That vote option does not exist") from None
        if choice < 0 or choice >= len(poll.options):
            raise ValidationError("Validation failed: That vote option does not exist")
        if choice not in picked:
            picked.append(choice)
    if not picked:
        raise ValidationError("Validation failed: Choices can't be blank")
    if expired(poll):
        raise ValidationError("Validation failed: The poll has already ended")
    if poll.account_id == account.id:
        raise ValidationError("Validation failed: You cannot vote in your own poll")
    if not poll.multiple and len(picked) > 1:
        raise ValidationError("Validation failed: You have already voted on this poll")
    locked = db.session.scalar(select(Poll).where(Poll.id == poll.id).with_for_update())  # one vote at a time
    if locked is None:
        raise NotFound("Record not found")
    if db.session.scalar(select(exists().where(PollVote.poll_id == poll.id, PollVote.account_id == account.id))):
        raise ValidationError("Validation failed: You have already voted on this poll")
    for choice in picked:
        db.session.add(PollVote(poll_id=poll.id, account_id=account.id, choice=choice))
    try:
        db.session.flush()
    except IntegrityError:  # the same vote sent twice at once: the other one was stored first
        db.session.rollback()
        raise ValidationError("Validation failed: You have already voted on this poll") from None
    if status.local:
        _recount(locked)
    else:  # a remote poll's counts are its server's; ours are added until it reports new ones
        locked.tallies = [t + (i in picked) for i, t in enumerate(locked.tallies)]
        locked.votes_count = sum(locked.tallies)
        locked.voters_count = (locked.voters_count or 0) + 1
    db.session.commit()
    current().emit("poll_voted", account=account, status=status, choices=picked)
    return locked


def _recount(poll: Poll) -> None:
    """Tallies and counts from the stored votes (so concurrent voters cannot lose each other's votes)."""
    tallies = [0] * len(poll.options)
    rows = db.session.execute(
        select(PollVote.choice, func.count()).where(PollVote.poll_id == poll.id).group_by(PollVote.choice)
    )
    for choice, count in rows:
        if 0 <= choice < len(tallies):
            tallies[choice] = count
    poll.tallies = tallies
    poll.votes_count = sum(tallies)
    poll.voters_count = (
        db.session.scalar(select(func.count(func.distinct(PollVote.account_id))).where(PollVote.poll_id == poll.id))
        or 0
    )


def own_votes(account: Account | None, poll_ids: Sequence[int]) -> dict[int, list[int]]:
    """The choices ``account`` made, by poll id, for a page of polls."""
    if account is None or not poll_ids:
        return {}
    out: dict[int, list[int]] = {}
    rows = db.session.execute(
        select(PollVote.poll_id, PollVote.choice)
        .where(PollVote.account_id == account.id, PollVote.poll_id.in_(poll_ids))
        .order_by(PollVote.poll_id, PollVote.choice)
    )
    for poll_id, choice in rows:
        out.setdefault(poll_id, []).append(choice)
    return out


def poll_expired_job(poll_id: int, expires_at: str) -> None:
    """A ``poll`` notification for the author and every local voter, once the poll has ended.

    A job for an end that was moved by an edit finds a different ``expires_at``
    and does nothing: the edit queued a job of its own.
    """
    poll = db.session.get(Poll, poll_id)
    if poll is None or poll.expires_at is None:
        return
    if abs((poll.expires_at - dt.datetime.fromisoformat(expires_at)).total_seconds()) > 1:
        return
    if not expired(poll):  # run early (a queue that rounds delays): try again at the end
        _schedule_end(poll)
        return
    status = db.session.get(Status, poll.status_id)
    author = db.session.get(Account, poll.account_id)
    if status is None or author is None:
        return
    voters = db.session.scalars(
        select(Account).where(Account.id.in_(select(PollVote.account_id).where(PollVote.poll_id == poll.id)))
    )
    recipients = ([author] if author.local else []) + [v for v in voters if v.local]
    for recipient in recipients:
        if not _already_told(recipient, status):
            notify(recipient, "poll", author, status)


def _already_told(recipient: Account, status: Status) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Notification.account_id == recipient.id,
                    Notification.type == "poll",
                    Notification.status_id == status.id,
                )
            )
        )
    )


JOBS = {EXPIRE_JOB: poll_expired_job}
