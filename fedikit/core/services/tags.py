"""Hashtags: finding them by name and following them."""

from __future__ import annotations

import re

from sqlalchemy import delete, select

from fedikit.core.db import commit_unless_duplicate, db
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, Tag, TagFollow
from fedikit.core.services import timelines

NAME_RE = re.compile(r"\A\w*[^\W\d]\w*\Z")
MAX_LENGTH = 255


def find(name: str) -> Tag | None:
    return db.session.scalar(select(Tag).where(Tag.name == name.lstrip("#").lower()))


def find_or_create(name: str) -> Tag:
    """The tag called ``name`` (made if new); a name that cannot be a hashtag is a ValidationError."""
    name = name.lstrip("#")
    if not NAME_RE.match(name) or len(name) > MAX_LENGTH:
        raise ValidationError(f"Validation failed: {name!r} is not a hashtag")
    tag = find(name)
    if tag is not None:
        return tag
    tag = Tag(name=name.lower(), display_name=name)
    db.session.add(tag)
    if not commit_unless_duplicate():  # made by a concurrent request
        tag = find(name)
    return tag


def follow(account: Account, tag: Tag) -> None:
    db.session.add(TagFollow(account_id=account.id, tag_id=tag.id))
    if commit_unless_duplicate():  # else already followed: nothing to do
        timelines.home_rules_changed(account.id)


def unfollow(account: Account, tag: Tag) -> None:
    db.session.execute(delete(TagFollow).where(TagFollow.account_id == account.id, TagFollow.tag_id == tag.id))
    db.session.commit()
    timelines.home_rules_changed(account.id)


def following(account: Account, tag_ids: list[int]) -> set[int]:
    """Which of ``tag_ids`` the account follows."""
    if not tag_ids:
        return set()
    query = select(TagFollow.tag_id).where(TagFollow.account_id == account.id, TagFollow.tag_id.in_(tag_ids))
    return set(db.session.scalars(query))
