"""Trends: the hashtags and statuses many accounts are using or sharing now, and a hashtag's daily use.

Trends are opt-in (``TRENDS_ENABLED``); :func:`enabled` says whether to show
them. Mastodon keeps running scores in Redis and has moderators review what
trends; here both lists are computed from SQL when asked for:

- tags: usable, trendable hashtags, ranked by how many distinct accounts
  used them in public statuses over the last :data:`HISTORY_DAYS` days (then
  by how many statuses, then by the latest use);
- statuses: public originals (no boosts, no replies) from the last
  :data:`STATUS_WINDOW`, without a content warning or the sensitive flag, by
  discoverable authors who are not silenced (Mastodon's eligibility), ranked
  by how many distinct other accounts favourited or boosted them.

A hashtag's :func:`history` (the Tag entity's ``history``) counts the same
public statuses, per day, whether or not trends are shown.

Status ids are their creation times (snowflakes, backdated for remote
posts), so every time bound here is a bound on the primary key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, and_, case, distinct, func, select, union
from sqlalchemy.orm import aliased

from fedikit.core.db import db, utcnow
from fedikit.core.ids import min_id_at
from fedikit.core.models import Account, Favourite, Status, Tag, status_tags
from fedikit.core.state import current
from fedikit.core.visibility import hidden_by, visible_to
from fedikit.plugin_api import Visibility

HISTORY_DAYS = 7  # Mastodon's Tag history: today and the six days before it
# Mastodon's status scores halve every two hours, so a post trends for about
# a day there; a smaller instance sees fewer interactions, so it looks further.
STATUS_WINDOW = dt.timedelta(days=3)


def enabled() -> bool:
    return bool(current().config.get("TRENDS_ENABLED"))


def day_starts(now: dt.datetime | None = None) -> list[dt.datetime]:
    """Midnight UTC of today and of the days before it, newest first (:data:`HISTORY_DAYS` of them)."""
    today = (now or utcnow()).astimezone(dt.UTC).date()
    return [dt.datetime.combine(today - dt.timedelta(days=i), dt.time(), tzinfo=dt.UTC) for i in range(HISTORY_DAYS)]


def _public_tag_uses(since: dt.datetime) -> Select[tuple[int]]:
    """``status_tags`` rows of public, original statuses since ``since`` by authors who are not silenced."""
    return (
        select(status_tags.c.tag_id)
        .select_from(status_tags)
        .join(Status, Status.id == status_tags.c.status_id)
        .join(Account, Account.id == Status.account_id)
        .where(
            Status.id >= min_id_at(since),
            Status.visibility == Visibility.PUBLIC.value,
            Status.reblog_of_id.is_(None),
            Account.silenced_at.is_(None),
            visible_to(None),  # what anyone may see: leaves out suspended authors
        )
    )


def history(tag_ids: Sequence[int], *, now: dt.datetime | None = None) -> dict[int, list[dict[str, str]]]:
    """Each tag's use per day, newest day first, as the Tag entity's ``history``: one query for all tags.

    ``day`` is the Unix time of midnight UTC; ``uses`` counts public statuses
    with the tag, ``accounts`` their distinct authors. Every value is a
    string, as Mastodon sends them.
    """
    starts = day_starts(now)
    empty = [{"day": str(int(start.timestamp())), "uses": "0", "accounts": "0"} for start in starts]
    wanted = list(dict.fromkeys(tag_ids))
    if not wanted:
        return {}
    columns = []
    for i, start in enumerate(starts):
        on_day = Status.id >= min_id_at(start)
        if i:
            on_day = and_(on_day, Status.id < min_id_at(starts[i - 1]))
        columns.append(func.count(case((on_day, 1))))
        columns.append(func.count(distinct(case((on_day, Status.account_id)))))
    query = (
        _public_tag_uses(starts[-1])
        .add_columns(*columns)
        .where(status_tags.c.tag_id.in_(wanted))
        .group_by(status_tags.c.tag_id)
    )
    found = {tag_id: [{**day} for day in empty] for tag_id in wanted}
    for tag_id, *counts in db.session.execute(query):
        for i, day in enumerate(found[tag_id]):
            day["uses"], day["accounts"] = str(counts[2 * i]), str(counts[2 * i + 1])
    return found


def tags(*, limit: int = 10, offset: int = 0, now: dt.datetime | None = None) -> list[Tag]:
    """Trending hashtags, most distinct accounts first (see the module docs)."""
    accounts = func.count(distinct(Status.account_id))
    query = (
        _public_tag_uses(day_starts(now)[-1])
        .join(Tag, Tag.id == status_tags.c.tag_id)
        .where(Tag.usable.is_(True), Tag.trendable.is_(True))
        .group_by(status_tags.c.tag_id)
        .order_by(accounts.desc(), func.count().desc(), func.max(Status.id).desc())
        .offset(offset)
        .limit(limit)
    )
    ids = list(db.session.scalars(query))
    found = {tag.id: tag for tag in db.session.scalars(select(Tag).where(Tag.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def statuses(
    viewer: Account | None, *, limit: int = 20, offset: int = 0, now: dt.datetime | None = None
) -> list[Status]:
    """Trending statuses that ``viewer`` may see and has not hidden, most distinct interactions first."""
    since = min_id_at((now or utcnow()) - STATUS_WINDOW)
    boost = aliased(Status)
    # Who favourited or boosted what; UNION keeps one row per (status, account).
    interactions = union(
        select(Favourite.status_id.label("status_id"), Favourite.account_id.label("account_id")).where(
            Favourite.status_id >= since
        ),
        select(boost.reblog_of_id.label("status_id"), boost.account_id.label("account_id")).where(
            boost.reblog_of_id >= since
        ),
    ).subquery()
    query = (
        select(Status.id)
        .join(interactions, interactions.c.status_id == Status.id)
        .join(Account, Account.id == Status.account_id)
        .where(
            interactions.c.account_id != Status.account_id,  # nobody makes their own post trend
            Status.id >= since,
            Status.visibility == Visibility.PUBLIC.value,
            Status.reblog_of_id.is_(None),
            Status.in_reply_to_id.is_(None),
            Status.in_reply_to_account_id.is_(None),
            Status.sensitive.is_(False),
            Status.spoiler_text == "",
            Account.discoverable.is_(True),
            Account.silenced_at.is_(None),
            visible_to(viewer),
            ~hidden_by(viewer),
        )
        .group_by(Status.id)
        .order_by(func.count().desc(), Status.id.desc())
        .offset(offset)
        .limit(limit)
    )
    ids = list(db.session.scalars(query))
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]
