"""Lists: named sets of followed accounts with their own timeline.

Every lookup is scoped to the owner: another account's list id answers
NotFound, exactly as a missing one does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from fedikit.core.db import db
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, Follow, FollowRequest, ListAccount, Status
from fedikit.core.models import List as AccountList
from fedikit.core.services import checked_title, timelines
from fedikit.core.services.timelines import MERGE_LIMIT, list_statuses
from fedikit.core.state import current
from fedikit.plugin_api import NotFound

PER_ACCOUNT_LIMIT = 50  # Mastodon's List::PER_ACCOUNT_LIMIT
TITLE_LIMIT = 255  # the column's width; every user-written string has a bound
REPLIES_POLICIES = ("followed", "list", "none")
UNMERGE_LIMIT = 1000


def owned(owner: Account, list_id: int | None) -> AccountList:
    """``owner``'s list ``list_id``; anyone else's, or none, is NotFound."""
    found = db.session.get(AccountList, list_id) if list_id is not None else None
    if found is None or found.account_id != owner.id:
        raise NotFound("Record not found")
    return found


def lists_of(owner: Account) -> list[AccountList]:
    return list(
        db.session.scalars(select(AccountList).where(AccountList.account_id == owner.id).order_by(AccountList.id))
    )


def lists_containing(owner: Account, member: Account) -> list[AccountList]:
    """``owner``'s lists that ``member`` is in (nobody else's lists are ever shown)."""
    query = (
        select(AccountList)
        .join(ListAccount, ListAccount.list_id == AccountList.id)
        .where(AccountList.account_id == owner.id, ListAccount.account_id == member.id)
        .order_by(AccountList.id)
    )
    return list(db.session.scalars(query))


def _replies_policy(policy: str) -> str:
    if policy not in REPLIES_POLICIES:
        raise ValidationError(f"Validation failed: '{policy}' is not a valid replies_policy")
    return policy


def create(
    owner: Account, title: str | None, *, replies_policy: str | None = None, exclusive: bool = False
) -> AccountList:
    made = AccountList(
        account_id=owner.id,
        title=checked_title(title, TITLE_LIMIT),
        replies_policy=_replies_policy(replies_policy or "list"),
        exclusive=exclusive,
    )
    count = db.session.scalar(select(func.count()).select_from(AccountList).where(AccountList.account_id == owner.id))
    if count >= PER_ACCOUNT_LIMIT:
        raise ValidationError(f"Validation failed: You can't manage more than {PER_ACCOUNT_LIMIT} lists")
    db.session.add(made)
    db.session.commit()
    return made


def update(
    feed_list: AccountList,
    *,
    title: str | None = None,
    replies_policy: str | None = None,
    exclusive: bool | None = None,
) -> AccountList:
    """Change what is given; what is not given stays."""
    if title is not None:
        feed_list.title = checked_title(title, TITLE_LIMIT)
    policy_before, exclusive_before = feed_list.replies_policy, feed_list.exclusive
    if replies_policy is not None:
        feed_list.replies_policy = _replies_policy(replies_policy)
    if exclusive is not None:
        feed_list.exclusive = exclusive
    db.session.commit()
    if feed_list.replies_policy != policy_before:
        timelines.list_rules_changed(feed_list)
    if feed_list.exclusive != exclusive_before:
        timelines.home_rules_changed(feed_list.account_id)
    return feed_list


def destroy(feed_list: AccountList) -> None:
    list_id = feed_list.id
    db.session.delete(feed_list)
    db.session.commit()
    feeds = current().feeds
    if feeds.precomputed:
        feeds.clear(f"list:{list_id}")


def members(feed_list: AccountList):  # noqa: ANN201
    """A query for the list's accounts (suspended ones left out), to page by account id."""
    return (
        select(Account)
        .join(ListAccount, ListAccount.account_id == Account.id)
        .where(ListAccount.list_id == feed_list.id, Account.suspended_at.is_(None))
    )


def _accounts(account_ids: Sequence[int]) -> list[Account]:
    """The accounts named, all of them, or NotFound (as Mastodon's ``Account.find(ids)``)."""
    wanted = list(dict.fromkeys(account_ids))
    if not wanted:
        return []
    found = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(wanted)))}
    if len(found) != len(wanted) or any(a.suspended_at is not None for a in found.values()):
        raise NotFound("Record not found")
    return [found[i] for i in wanted]


def add_accounts(feed_list: AccountList, account_ids: Sequence[int]) -> None:
    """Add accounts the owner follows (or has asked to follow), all or none.

    Not followed: NotFound, as Mastodon's ``ListAccount`` finds the follow or
    fails. Already in the list: ValidationError.
    """
    accounts = _accounts(account_ids)
    if not accounts:
        return
    ids = [a.id for a in accounts]
    follows = dict(
        db.session.execute(
            select(Follow.target_account_id, Follow.id).where(
                Follow.account_id == feed_list.account_id, Follow.target_account_id.in_(ids)
            )
        ).all()
    )
    requested = set(
        db.session.scalars(
            select(FollowRequest.target_account_id).where(
                FollowRequest.account_id == feed_list.account_id, FollowRequest.target_account_id.in_(ids)
            )
        )
    )
    present = set(
        db.session.scalars(
            select(ListAccount.account_id).where(ListAccount.list_id == feed_list.id, ListAccount.account_id.in_(ids))
        )
    )
    for account in accounts:
        own = account.id == feed_list.account_id
        if not own and account.id not in follows and account.id not in requested:
            raise NotFound("Record not found")
        if account.id in present:
            raise ValidationError("Validation failed: Account has already been taken")
        db.session.add(ListAccount(list_id=feed_list.id, account_id=account.id, follow_id=follows.get(account.id)))
    try:
        db.session.commit()
    except IntegrityError:  # the same account added by a concurrent request
        db.session.rollback()
        raise ValidationError("Validation failed: Account has already been taken") from None
    _merge(feed_list, ids)
    if feed_list.exclusive:  # their posts leave the owner's home
        timelines.home_rules_changed(feed_list.account_id)


def remove_accounts(feed_list: AccountList, account_ids: Iterable[int]) -> None:
    """Take accounts out of the list; ones not in it are ignored."""
    ids = list(dict.fromkeys(account_ids))
    if not ids:
        return
    db.session.execute(delete(ListAccount).where(ListAccount.list_id == feed_list.id, ListAccount.account_id.in_(ids)))
    db.session.commit()
    _unmerge(feed_list, ids)
    if feed_list.exclusive:  # their posts come back home
        timelines.home_rules_changed(feed_list.account_id)


def _merge(feed_list: AccountList, account_ids: list[int]) -> None:
    """Precomputed feeds: the new members' latest statuses, as far as they belong in the list."""
    feeds = current().feeds
    if not feeds.precomputed:
        return
    key = f"list:{feed_list.id}"
    for account_id in account_ids:
        query = list_statuses(feed_list).where(Status.account_id == account_id)
        for status_id in db.session.scalars(query.order_by(Status.id.desc()).limit(MERGE_LIMIT)):
            feeds.add([key], status_id)


def _unmerge(feed_list: AccountList, account_ids: list[int]) -> None:
    feeds = current().feeds
    if not feeds.precomputed:
        return
    key = f"list:{feed_list.id}"
    query = (
        select(Status.id)
        .where(Status.account_id.in_(account_ids))
        .order_by(Status.id.desc())
        .limit(UNMERGE_LIMIT * len(account_ids))
    )
    for status_id in db.session.scalars(query):
        feeds.remove([key], status_id)
