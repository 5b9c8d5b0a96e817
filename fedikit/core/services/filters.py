"""Filters (v2): groups of keywords and statuses, and what they match.

Every lookup is scoped to the owner: another account's filter, keyword or
status filter answers NotFound, as a missing one does.

Matching is Mastodon's: a keyword matches case-insensitively anywhere in the
status's searchable text (content warning, text, media descriptions); a
``whole_word`` keyword only at word boundaries (a boundary is required only
on a side where the keyword starts or ends with a word character). A status
filter matches the status or the one it boosts. Expired filters match
nothing. Contexts are not applied here: the Status entity carries every
match and clients apply the context and the action.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from fedikit.core.db import db, utcnow
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, CustomFilter, FilterKeyword, FilterStatus, Status
from fedikit.core.sanitize import plain_text
from fedikit.core.services import checked_title
from fedikit.core.state import current
from fedikit.core.visibility import can_see
from fedikit.plugin_api import NotFound

CONTEXTS = ("home", "notifications", "public", "thread", "account")
ACTIONS = ("warn", "hide", "blur")
TITLE_LIMIT = 255  # the columns' width; every user-written string has a bound
KEYWORD_LIMIT = 255
MAX_EXPIRES_IN = 10 * 365 * 24 * 3600  # beyond any date a client offers; keeps the arithmetic in range


# ---------------------------------------------------------------- lookups, all scoped to the owner


def owned_filter(owner: Account, filter_id: int | None) -> CustomFilter:
    found = db.session.get(CustomFilter, filter_id) if filter_id is not None else None
    if found is None or found.account_id != owner.id:
        raise NotFound("Record not found")
    return found


def owned_keyword(owner: Account, keyword_id: int | None) -> FilterKeyword:
    found = db.session.get(FilterKeyword, keyword_id) if keyword_id is not None else None
    if found is None or db.session.get(CustomFilter, found.filter_id).account_id != owner.id:
        raise NotFound("Record not found")
    return found


def owned_status(owner: Account, status_filter_id: int | None) -> FilterStatus:
    found = db.session.get(FilterStatus, status_filter_id) if status_filter_id is not None else None
    if found is None or db.session.get(CustomFilter, found.filter_id).account_id != owner.id:
        raise NotFound("Record not found")
    return found


def filters_of(owner: Account) -> list[CustomFilter]:
    """All of ``owner``'s filters, expired ones included (as Mastodon lists them)."""
    query = (
        select(CustomFilter)
        .where(CustomFilter.account_id == owner.id)
        .options(selectinload(CustomFilter.keywords), selectinload(CustomFilter.statuses))
        .order_by(CustomFilter.id)
    )
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- validation


def _context(context: Sequence[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip() for c in context if c and c.strip()))
    if not cleaned:
        raise ValidationError("Validation failed: Context can't be blank")
    if any(c not in CONTEXTS for c in cleaned):
        raise ValidationError("Validation failed: Context contains one or more invalid context values")
    return cleaned


def _action(action: str) -> str:
    if action not in ACTIONS:
        raise ValidationError(f"Validation failed: '{action}' is not a valid filter_action")
    return action


def _keyword(keyword: str | None) -> str:
    if keyword is None or not keyword.strip():
        raise ValidationError("Validation failed: Keyword can't be blank")
    if len(keyword) > KEYWORD_LIMIT:
        raise ValidationError(f"Validation failed: Keyword is too long (maximum is {KEYWORD_LIMIT} characters)")
    return keyword


def expires_at(expires_in: Any) -> dt.datetime | None:
    """``expires_in`` seconds from now; blank or None: never."""
    if expires_in is None or str(expires_in).strip() == "":
        return None
    try:
        seconds = int(str(expires_in).strip())
    except ValueError:
        raise ValidationError("Validation failed: Expires in must be a whole number of seconds") from None
    if seconds < 0:
        raise ValidationError("Validation failed: Expires in must be greater than or equal to 0")
    return utcnow() + dt.timedelta(seconds=min(seconds, MAX_EXPIRES_IN))


# ---------------------------------------------------------------- writing


@dataclasses.dataclass
class KeywordChange:
    """One entry of ``keywords_attributes``: a new keyword, or (with ``id``) a change or removal."""

    id: int | None = None
    raw_id: str | None = None
    keyword: str | None = None
    whole_word: bool | None = None
    destroy: bool = False

    def blank(self) -> bool:
        return self.raw_id in (None, "") and self.keyword in (None, "") and self.whole_word is None


_UNSET: Any = object()


def create_filter(
    owner: Account,
    *,
    title: str | None,
    context: Sequence[str],
    action: str | None = None,
    expires_in: Any = None,
    keywords: Sequence[KeywordChange] = (),
) -> CustomFilter:
    made = CustomFilter(
        account_id=owner.id,
        title=checked_title(title, TITLE_LIMIT),
        context=_context(context),
        action=_action(action or "warn"),
        expires_at=expires_at(expires_in),
    )
    for change in keywords:
        if change.blank() or change.destroy:
            continue  # Mastodon: all-blank entries and ones marked for destruction are not attached
        if change.raw_id not in (None, ""):
            raise NotFound("Record not found")  # a new filter has no keywords to change
        made.keywords.append(
            FilterKeyword(
                keyword=_keyword(change.keyword), whole_word=True if change.whole_word is None else change.whole_word
            )
        )
    db.session.add(made)
    db.session.commit()
    return made


def update_filter(
    found: CustomFilter,
    *,
    title: str | None = None,
    context: Sequence[str] | None = None,
    action: str | None = None,
    expires_in: Any = _UNSET,
    keywords: Sequence[KeywordChange] = (),
) -> CustomFilter:
    """Change what is given; ``expires_in`` given blank or null removes the expiry."""
    if title is not None:
        found.title = checked_title(title, TITLE_LIMIT)
    if context is not None:
        found.context = _context(context)
    if action is not None:
        found.action = _action(action)
    if expires_in is not _UNSET:
        found.expires_at = expires_at(expires_in)
    existing = {k.id: k for k in found.keywords}
    for change in keywords:
        if change.blank():
            continue
        if change.raw_id not in (None, ""):
            target = existing.get(change.id) if change.id is not None else None
            if target is None:
                raise NotFound("Record not found")
            if change.destroy:
                found.keywords.remove(target)
                continue
            if change.keyword is not None:
                target.keyword = _keyword(change.keyword)
            if change.whole_word is not None:
                target.whole_word = change.whole_word
        elif not change.destroy:
            found.keywords.append(
                FilterKeyword(
                    keyword=_keyword(change.keyword),
                    whole_word=True if change.whole_word is None else change.whole_word,
                )
            )
    db.session.commit()
    return found


def destroy_filter(found: CustomFilter) -> None:
    db.session.delete(found)
    db.session.commit()


def add_keyword(found: CustomFilter, keyword: str | None, whole_word: bool | None) -> FilterKeyword:
    made = FilterKeyword(
        filter_id=found.id, keyword=_keyword(keyword), whole_word=True if whole_word is None else whole_word
    )
    db.session.add(made)
    db.session.commit()
    return made


def update_keyword(found: FilterKeyword, keyword: str | None, whole_word: bool | None) -> FilterKeyword:
    if keyword is not None:
        found.keyword = _keyword(keyword)
    if whole_word is not None:
        found.whole_word = whole_word
    db.session.commit()
    return found


def destroy_keyword(found: FilterKeyword) -> None:
    db.session.delete(found)
    db.session.commit()


def add_status(found: CustomFilter, status_id: int | None) -> FilterStatus:
    """Filter one status the owner can see; missing, hidden or already there: ValidationError (one message)."""
    owner = db.session.get(Account, found.account_id)
    status = db.session.get(Status, status_id) if status_id is not None else None
    if status is None or not can_see(owner, status):
        raise ValidationError("Validation failed: Status is invalid")
    taken = db.session.scalar(
        select(FilterStatus.id).where(FilterStatus.filter_id == found.id, FilterStatus.status_id == status.id)
    )
    if taken is not None:
        raise ValidationError("Validation failed: Status has already been taken")
    made = FilterStatus(filter_id=found.id, status_id=status.id)
    db.session.add(made)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationError("Validation failed: Status is invalid") from None
    return made


def destroy_status(found: FilterStatus) -> None:
    db.session.delete(found)
    db.session.commit()


# ---------------------------------------------------------------- matching


@dataclasses.dataclass(frozen=True)
class ActiveFilter:
    """A filter compiled for matching: plain data, kept across requests (see :func:`active`)."""

    id: int
    title: str
    context: tuple[str, ...]
    action: str
    expires_at: dt.datetime | None
    pattern: re.Pattern[str] | None
    status_ids: frozenset[int]


@dataclasses.dataclass
class Match:
    filter: ActiveFilter
    keyword_matches: list[str] | None
    status_matches: list[int] | None


def keyword_pattern(keyword: str, whole_word: bool) -> str:
    escaped = re.escape(keyword)
    if not whole_word:
        return escaped
    start = r"\b" if re.match(r"\w", keyword) else ""
    end = r"\b" if re.search(r"\w\Z", keyword) else ""
    return f"{start}{escaped}{end}"


# Built once: a page of statuses runs it when its viewer's filters changed.
_OWNED = (
    select(CustomFilter)
    .where(CustomFilter.account_id == bindparam("owner"))
    .options(selectinload(CustomFilter.keywords), selectinload(CustomFilter.statuses))
    .order_by(CustomFilter.id)
)


def active(viewer: Account | None) -> list[ActiveFilter]:
    """``viewer``'s unexpired filters, compiled.

    Every page of statuses needs them, so they are kept per process (``Renders``) under the owner's
    ``users.filters_version``, which moves with any change to their filters and comes with the user's
    token: no query while they stay the same, none at all for someone who never had a filter.
    """
    user = viewer.user if viewer is not None else None
    if user is None or not user.filters_version:
        return []
    renders = current().renders
    key = ("filters", user.account_id, user.filters_version)
    compiled = renders.get(key)
    if compiled is None:
        compiled = _compiled(user.account_id)
        renders.put(key, compiled)
    now = utcnow()
    return [rule for rule in compiled if rule.expires_at is None or rule.expires_at > now]


def _compiled(owner_id: int) -> tuple[ActiveFilter, ...]:
    out = []
    for found in db.session.scalars(_OWNED, {"owner": owner_id}):
        if not found.keywords and not found.statuses:
            continue
        patterns = [keyword_pattern(k.keyword, k.whole_word) for k in found.keywords if k.keyword]
        pattern = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
        out.append(
            ActiveFilter(
                id=found.id,
                title=found.title,
                context=tuple(found.context or ()),
                action=found.action,
                expires_at=found.expires_at,
                pattern=pattern,
                status_ids=frozenset(s.status_id for s in found.statuses),
            )
        )
    return tuple(out)


def searchable_text(status: Status) -> str:
    """What keywords are matched against: content warning, text (HTML stripped), media descriptions."""
    body = status.text if status.local and status.text else plain_text(status.content or "")
    descriptions = [m.description for m in status.media_attachments if m.description]
    return "\n\n".join(part for part in (status.spoiler_text, body, *descriptions) if part)


def matches(filters: Sequence[ActiveFilter], status: Status, proper: Status | None = None) -> list[Match]:
    """The filters matching ``status``; keywords are read from ``proper`` (the boosted status) when given."""
    if not filters:
        return []
    text: str | None = None
    candidates = [i for i in (status.id, status.reblog_of_id) if i]
    out = []
    for rule in filters:
        keyword_matches = None
        if rule.pattern is not None:
            if text is None:
                text = searchable_text(proper or status)
            found = rule.pattern.search(text)
            keyword_matches = [found.group(0)] if found else None
        status_matches = [i for i in candidates if i in rule.status_ids] or None
        if keyword_matches or status_matches:
            out.append(Match(rule, keyword_matches, status_matches))
    return out
