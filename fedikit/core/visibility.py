"""Who may see a status, and who receives it: decided here and nowhere else.

Every path that returns statuses (API, feeds, search, federation) filters with
:func:`visible_to` or asks :func:`can_see`; every path that sends a status
asks :func:`audience`. The rules are Mastodon's:

- ``public`` and ``unlisted``: anyone, unless the author blocks the viewer;
- ``private`` (followers only): the author, accepted followers, mentioned accounts;
- ``direct``: the author and mentioned accounts;
- a reblog is visible when the reblog row and the status it boosts both are;
- nothing by a suspended account is visible;
- a silenced (limited) account reaches public timelines only for its followers (:func:`unlimited_for`).

``hidden_by`` is the viewer's own choice (blocks, mutes, domain blocks) of what
to leave out of timelines; it never makes more visible.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, or_, select
from sqlalchemy.orm import aliased

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, AccountDomainBlock, Block, Follow, Mention, Mute, Status
from fedikit.plugin_api import Visibility

PUBLIC_VISIBILITIES = (Visibility.PUBLIC.value, Visibility.UNLISTED.value)

# Named aliases made once: they never correlate with an Account or Status the
# outer query joins, and building an alias per call costs more than the query.
_author = aliased(Account, name="visibility_author")
_boosted = aliased(Status, name="visibility_boosted")
_blocked_domain_author = aliased(Account, name="visibility_domain_author")


# Each viewer's conditions are built once and kept: building them costs more
# than running the query they end up in. They hold nothing but the viewer's id.
# A kept viewer costs about 290 KiB (these conditions and the home page
# templates in services.timelines), so only the most recent 32 are kept.
VIEWER_CACHE = 32

# Evaluated when a statement runs, so a kept condition never holds a stale time.
_NOW = bindparam("visibility_now", callable_=utcnow, type_=Mute.expires_at.type)


def _public(status: Any) -> ColumnElement[bool]:
    # Not ``in_``: a list is bound anew each time a kept statement runs; equalities are part of its text.
    return or_(*(status.visibility == value for value in PUBLIC_VISIBILITIES))


def _own_rules(status: Any, viewer_id: int | None) -> ColumnElement[bool]:
    """The visibility rules for one status row (``status`` is ``Status`` or an alias)."""
    author_active = ~exists().where(_author.id == status.account_id, _author.suspended_at.is_not(None))
    if viewer_id is None:
        return and_(_public(status), author_active)
    mentioned = exists().where(Mention.status_id == status.id, Mention.account_id == viewer_id)
    following = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id)
    blocked_by_author = exists().where(Block.account_id == status.account_id, Block.target_account_id == viewer_id)
    return and_(
        author_active,
        or_(
            status.account_id == viewer_id,
            and_(_public(status), ~blocked_by_author),
            and_(status.visibility == Visibility.PRIVATE.value, or_(following, mentioned)),
            and_(status.visibility == Visibility.DIRECT.value, mentioned),
        ),
    )


def visible_to(viewer: Account | int | None, status: Any = Status) -> ColumnElement[bool]:
    """SQL condition: ``status`` rows that ``viewer`` (an account or its id; None: anonymous) may see."""
    viewer_id = viewer.id if isinstance(viewer, Account) else viewer
    if status is Status:
        return _visible_to_kept(viewer_id)
    return _visible_to(viewer_id, status)


@functools.lru_cache(maxsize=VIEWER_CACHE)
def _visible_to_kept(viewer_id: int | None) -> ColumnElement[bool]:
    return _visible_to(viewer_id, Status)


def _visible_to(viewer_id: int | None, status: Any) -> ColumnElement[bool]:
    boosted_visible = exists().where(_boosted.id == status.reblog_of_id, _own_rules(_boosted, viewer_id))
    return and_(_own_rules(status, viewer_id), or_(status.reblog_of_id.is_(None), boosted_visible))


def can_see(viewer: Account | None, status: Status) -> bool:
    """Whether ``viewer`` may see ``status``: the same rule as :func:`visible_to`, for one row."""
    return bool(db.session.scalar(select(exists().where(Status.id == status.id, visible_to(viewer)))))


def hidden_by(viewer: Account | int | None, status: Any = Status) -> ColumnElement[bool]:
    """SQL condition: rows the viewer chose not to see in timelines (blocked, muted, domain-blocked).

    Applies to the status's author and, for reblogs, to the boosted author too.
    ``viewer`` is an account or its id.
    """
    if viewer is None:
        return false()
    viewer_id = viewer.id if isinstance(viewer, Account) else viewer
    if status is Status:
        return _hidden_by_kept(viewer_id)
    return _hidden_by(viewer_id, status)


@functools.lru_cache(maxsize=VIEWER_CACHE)
def _hidden_by_kept(viewer_id: int) -> ColumnElement[bool]:
    return _hidden_by(viewer_id, Status)


def _hidden_by(viewer_id: int, status: Any) -> ColumnElement[bool]:
    def unwanted(author_id: Any) -> ColumnElement[bool]:
        return or_(
            exists().where(Block.account_id == viewer_id, Block.target_account_id == author_id),
            exists().where(
                Mute.account_id == viewer_id,
                Mute.target_account_id == author_id,
                or_(Mute.expires_at.is_(None), Mute.expires_at > _NOW),
            ),
            exists().where(
                _blocked_domain_author.id == author_id,
                AccountDomainBlock.account_id == viewer_id,
                AccountDomainBlock.domain == _blocked_domain_author.domain,
            ),
        )

    boosted_unwanted = exists().where(_boosted.id == status.reblog_of_id, unwanted(_boosted.account_id))
    return or_(unwanted(status.account_id), boosted_unwanted)


def audience(status: Status) -> Select[tuple[Account]]:
    """Accounts a status is delivered to: followers as its visibility allows, plus mentioned accounts.

    Everyone in the audience passes :func:`can_see`; the reverse need not hold.

    Used for home-feed fan-out (local accounts) and federation (remote ones).
    Pending follow requests never count as followers.
    """
    mentioned = select(Mention.account_id).where(Mention.status_id == status.id)
    followers = select(Follow.account_id).where(Follow.target_account_id == status.account_id)
    ids = mentioned if status.visibility == Visibility.DIRECT.value else followers.union(mentioned)
    # Nobody the author blocks; for a boost, nobody the boosted status's author blocks either.
    authors = [status.account_id] if status.reblog_of_id is None else [status.account_id, status.reblog.account_id]
    blocked = select(Block.target_account_id).where(Block.account_id.in_(authors))
    return select(Account).where(Account.id.in_(ids), Account.id.not_in(blocked), Account.suspended_at.is_(None))


_limited_author = aliased(Account, name="visibility_limited_author")


def unlimited_for(viewer: Account | int | None, status: Any = Status) -> ColumnElement[bool]:
    """Leaves out of public timelines what silenced (limited) accounts post, but for their followers.

    A silenced account (an admin's choice, or its whole domain's) is not
    hidden: its followers see it as before, anyone may look at its profile.
    It just does not reach people who did not ask for it.
    """
    silenced = exists().where(_limited_author.id == status.account_id, _limited_author.silenced_at.is_not(None))
    viewer_id = viewer.id if isinstance(viewer, Account) else viewer
    if viewer_id is None:
        return ~silenced
    following = exists().where(Follow.account_id == viewer_id, Follow.target_account_id == status.account_id)
    return or_(~silenced, status.account_id == viewer_id, following)
