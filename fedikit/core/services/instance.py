"""What the instance says about itself: its name, who may sign up, and how many people use it.

The client API's instance entities and protocol plugins (NodeInfo) read the
same answers from here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, User
from fedikit.core.state import current

ACTIVE_MONTH = dt.timedelta(days=30)
ACTIVE_HALFYEAR = dt.timedelta(days=180)


def title() -> str:
    """``INSTANCE_TITLE``, else the local domain."""
    config = current().config
    return str(config.get("INSTANCE_TITLE") or config["LOCAL_DOMAIN"])


def description() -> str:
    return str(current().config.get("INSTANCE_DESCRIPTION") or "")


def registrations_mode() -> str:
    """Who may sign up: ``open``, ``approved`` (an admin approves each account) or ``none``.

    ``REGISTRATIONS_MODE``, except that a single-user instance takes nobody new.
    """
    config = current().config
    return "none" if config.get("SINGLE_USER_MODE") else str(config["REGISTRATIONS_MODE"])


def user_count() -> int:
    """Local users as Mastodon counts them: confirmed, not suspended."""
    query = (
        select(func.count())
        .select_from(User)
        .join(Account, User.account_id == Account.id)
        .where(User.confirmed_at.is_not(None), Account.suspended_at.is_(None))
    )
    return db.session.scalar(query) or 0


def active_users(period: dt.timedelta = ACTIVE_MONTH) -> int:
    """Users who signed in (in a browser or through an app) within ``period``."""
    since = utcnow() - period
    return db.session.scalar(select(func.count()).select_from(User).where(User.current_sign_in_at >= since)) or 0


def local_status_count() -> int:
    """Statuses posted here, from the local accounts' counters (as Mastodon sums them): counting the rows
    reads the whole table on every client's start."""
    query = select(func.coalesce(func.sum(Account.statuses_count), 0)).where(Account.domain.is_(None))
    return int(db.session.scalar(query) or 0)


def domain_count() -> int:
    """Other servers this one knows accounts of."""
    return db.session.scalar(select(func.count(func.distinct(Account.domain))).where(Account.domain.is_not(None))) or 0
