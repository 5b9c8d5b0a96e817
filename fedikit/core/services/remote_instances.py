"""Delivery health of remote instances (Mastodon's ``DeliveryFailureTracker`` and ``UnavailableDomain``).

Protocol plugins report how their deliveries to a domain went; this module
keeps the record on the domain's :class:`~fedikit.core.models.RemoteInstance`
row (made on first need) and says which domains to stop sending to:

- each UTC day on which a delivery to a domain failed is remembered once, in
  ``failure_days`` (ISO dates);
- once there are :data:`FAILURE_DAYS_THRESHOLD` (7) distinct failing days the
  domain is marked unavailable (``unavailable_since``) and deliveries to it are
  skipped, so a dead server stops costing a retry schedule per activity;
- a delivery that succeeds clears both: the domain is back, and its old failing
  days no longer count towards the threshold.

Counting *days* rather than failures means a server that is down for an
afternoon (however many deliveries failed meanwhile) is one bad day, not a
reason to give up on it. Domains are compared lower-cased; a ``host:port``
is a domain of its own, as in :func:`fedikit.core.services.domain_blocks.policy`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select, update

from fedikit.core.db import commit_unless_duplicate, db, utcnow
from fedikit.core.models import RemoteInstance

#: Mastodon's ``DeliveryFailureTracker::FAILURE_DAYS_THRESHOLD``.
FAILURE_DAYS_THRESHOLD = 7


def _normal(domain: str) -> str:
    return domain.strip().lower()


def _ensure_row(domain: str) -> None:
    """Create the domain's row if it has none; a row stored first by a concurrent job is just as good."""
    if db.session.scalar(select(RemoteInstance.id).where(RemoteInstance.domain == domain)) is not None:
        return
    db.session.add(RemoteInstance(domain=domain, failure_days=[]))
    commit_unless_duplicate()  # False: someone else created it between our look and our insert


def record_failure(domain: str, today: dt.date | None = None) -> bool:
    """Remember that a delivery to ``domain`` failed ``today`` (UTC by default); whether it is now unavailable.

    A day counts once however many deliveries failed on it. On reaching
    :data:`FAILURE_DAYS_THRESHOLD` distinct days the domain is marked
    unavailable (and stays so, with its first ``unavailable_since``, until
    :func:`record_success`). The row is locked while it is changed (on
    databases that lock rows) so concurrent delivery jobs do not lose a day.
    Commits.
    """
    domain = _normal(domain)
    day = (today or utcnow().date()).isoformat()
    _ensure_row(domain)
    row = db.session.scalar(select(RemoteInstance).where(RemoteInstance.domain == domain).with_for_update())
    assert row is not None  # rows are never deleted by this module
    days = list(row.failure_days or [])
    if day not in days:
        row.failure_days = sorted([*days, day])  # a new list, so the JSON column is seen to change
    if len(row.failure_days) >= FAILURE_DAYS_THRESHOLD and row.unavailable_since is None:
        row.unavailable_since = utcnow()
    unavailable = row.unavailable_since is not None
    db.session.commit()
    return unavailable


def record_success(*domains: str) -> None:
    """Remember that deliveries to ``domains`` succeeded: they are available again, their failing days forgotten.

    This runs after every batch of deliveries, so it costs one look, one
    UPDATE for the rows that exist and one INSERT for the first-seen domains,
    and one commit, however many domains the batch reached.
    """
    wanted = sorted({_normal(domain) for domain in domains if domain})
    if not wanted:
        return
    now = utcnow()
    clear = (
        update(RemoteInstance)
        .where(RemoteInstance.domain.in_(wanted))
        .values(failure_days=[], unavailable_since=None, last_success_at=now)
    )
    known = set(db.session.scalars(select(RemoteInstance.domain).where(RemoteInstance.domain.in_(wanted))))
    db.session.execute(clear)
    db.session.add_all(
        RemoteInstance(domain=domain, failure_days=[], last_success_at=now) for domain in wanted if domain not in known
    )
    if not commit_unless_duplicate():  # a concurrent job created one of the rows first: clear them all again
        db.session.execute(clear)
        db.session.add_all(
            RemoteInstance(domain=d, failure_days=[], last_success_at=now)
            for d in set(wanted)
            - set(db.session.scalars(select(RemoteInstance.domain).where(RemoteInstance.domain.in_(wanted))))
        )
        db.session.commit()


def unavailable(domains: Iterable[str]) -> set[str]:
    """Which of ``domains`` (lower-cased in the answer) are marked unavailable; one query for all of them."""
    wanted = {_normal(domain) for domain in domains if domain}
    if not wanted:
        return set()
    query = select(RemoteInstance.domain).where(
        RemoteInstance.domain.in_(wanted), RemoteInstance.unavailable_since.is_not(None)
    )
    return set(db.session.scalars(query))


def failure_days(domain: str) -> list[str]:
    """The ISO dates on which deliveries to ``domain`` failed since its last success (oldest first)."""
    row = db.session.scalar(select(RemoteInstance).where(RemoteInstance.domain == _normal(domain)))
    return sorted(row.failure_days or []) if row is not None else []
