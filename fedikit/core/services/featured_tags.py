"""Hashtags featured on a profile, and the hashtags someone used lately (suggestions for featuring).

How many statuses a featured hashtag has, and when the last was posted, are
counted when asked (Mastodon keeps counters): the author's own public and
unlisted statuses carrying it, boosts aside.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import delete, func, select

from fedikit.core.db import commit_unless_duplicate, db
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, FeaturedTag, Status, Tag, status_tags
from fedikit.core.services import tags as tag_service
from fedikit.core.visibility import PUBLIC_VISIBILITIES
from fedikit.plugin_api import NotFound

LIMIT = 10  # Mastodon's FeaturedTag::LIMIT
SUGGESTIONS = 10  # Mastodon's RECENT_TAGS_LIMIT
RECENT_STATUSES = 1000  # suggestions come from this many of the account's latest statuses


@dataclasses.dataclass(frozen=True)
class Usage:
    statuses_count: int = 0
    last_status_at: dt.datetime | None = None


def featured_by(account: Account) -> list[FeaturedTag]:
    """``account``'s featured hashtags, the most used first (as Mastodon orders them)."""
    featured = list(
        db.session.scalars(select(FeaturedTag).where(FeaturedTag.account_id == account.id).order_by(FeaturedTag.id))
    )
    used = usage(account, featured)
    return sorted(featured, key=lambda f: -used[f.id].statuses_count)


def usage(account: Account, featured: list[FeaturedTag]) -> dict[int, Usage]:
    """Per featured tag id: how many of ``account``'s public and unlisted statuses carry it, and the latest's date."""
    by_tag = {f.tag_id: f.id for f in featured}
    if not by_tag:
        return {}
    query = (
        select(status_tags.c.tag_id, func.count(), func.max(Status.created_at))
        .join(Status, Status.id == status_tags.c.status_id)
        .where(
            Status.account_id == account.id,
            Status.visibility.in_(PUBLIC_VISIBILITIES),
            Status.reblog_of_id.is_(None),
            status_tags.c.tag_id.in_(by_tag),
        )
        .group_by(status_tags.c.tag_id)
    )
    counted = {tag_id: Usage(count, last) for tag_id, count, last in db.session.execute(query)}
    return {featured_id: counted.get(tag_id, Usage()) for tag_id, featured_id in by_tag.items()}


def feature(account: Account, name: str | None) -> FeaturedTag:
    """Feature hashtag ``name`` on ``account``'s profile; featuring it again returns the one there is.

    A name that is not a hashtag, or an eleventh hashtag, is a ValidationError (422).
    """
    name = (name or "").strip().removeprefix("#")
    if not name:
        raise ValidationError("Validation failed: Name can't be blank")
    if not tag_service.NAME_RE.match(name) or len(name) > tag_service.MAX_LENGTH:
        raise ValidationError("Validation failed: Name is invalid")
    existing = _featured(account, name)
    if existing is not None:
        return existing
    _check_room(account)  # before a tag is made: a refused request changes nothing
    tag = tag_service.find_or_create(name)
    db.session.scalar(select(Account.id).where(Account.id == account.id).with_for_update())  # one at a time
    existing = _featured(account, name)
    if existing is not None:
        return existing
    _check_room(account)
    db.session.add(FeaturedTag(account_id=account.id, tag_id=tag.id, name=name))
    if not commit_unless_duplicate():  # a double tap: the other request featured it first
        existing = _featured(account, name)
        if existing is None:
            raise NotFound("Record not found")
    return _featured(account, name)


def _featured(account: Account, name: str) -> FeaturedTag | None:
    return db.session.scalar(
        select(FeaturedTag)
        .join(Tag, Tag.id == FeaturedTag.tag_id)
        .where(FeaturedTag.account_id == account.id, Tag.name == name.lower())
    )


def _check_room(account: Account) -> None:
    count = db.session.scalar(select(func.count()).select_from(FeaturedTag).where(FeaturedTag.account_id == account.id))
    if (count or 0) >= LIMIT:
        raise ValidationError("Validation failed: You have already featured the maximum number of hashtags")


def unfeature(account: Account, featured_id: int | None) -> None:
    """Stop featuring one of ``account``'s featured hashtags; anyone else's (or none) is NotFound."""
    found = db.session.get(FeaturedTag, featured_id) if featured_id is not None else None
    if found is None or found.account_id != account.id:
        raise NotFound("Record not found")
    db.session.execute(delete(FeaturedTag).where(FeaturedTag.id == found.id))
    db.session.commit()


def suggestions(account: Account) -> list[Tag]:
    """Hashtags ``account`` used in its latest statuses and does not feature yet, the most used first."""
    recent = (
        select(Status.id)
        .where(Status.account_id == account.id, Status.reblog_of_id.is_(None))
        .order_by(Status.id.desc())
        .limit(RECENT_STATUSES)
    )
    featured = select(FeaturedTag.tag_id).where(FeaturedTag.account_id == account.id)
    used = (
        select(status_tags.c.tag_id, func.count().label("uses"))
        .where(status_tags.c.status_id.in_(recent), status_tags.c.tag_id.not_in(featured))
        .group_by(status_tags.c.tag_id)
        .subquery()
    )
    query = (
        select(Tag)
        .join(used, used.c.tag_id == Tag.id)
        .where(Tag.usable.is_(True))
        .order_by(used.c.uses.desc(), Tag.name)
        .limit(SUGGESTIONS)
    )
    return list(db.session.scalars(query))
