"""Timelines and feed upkeep.

Reading: every timeline ends in :func:`_load`, which applies visibility, the
viewer's blocks and mutes, and the ``timeline_admit`` hook.

Writing: with a precomputed feed store (``FeedStore.precomputed``), core fans a
status out to the home and list feeds of its local audience in a job, and
merges or removes a followee's statuses when a follow starts or ends. A store
computed from SQL needs none of that.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import aliased

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.models import (
    Account,
    Block,
    Follow,
    ListAccount,
    MediaAttachment,
    Status,
    Tag,
    TagFollow,
    status_tags,
)
from fedikit.core.models import List as AccountList
from fedikit.core.pagination import newest_first, paginate, paginate_template
from fedikit.core.plugins import collect
from fedikit.core.sanitize import plain_text
from fedikit.core.state import current
from fedikit.core.visibility import VIEWER_CACHE, audience, hidden_by, unlimited_for, visible_to
from fedikit.plugin_api import NotFound, Visibility

# SQLite answers the visibility rules' ORs by gathering every row that any
# branch matches through its index, then sorting: 150 ms for a home page at
# 100,000 statuses, 8 ms to load 20 statuses by id. Walking the primary key
# (newest first, or straight to the ids) takes 0.2 ms; a viewer who follows
# nobody costs one scan, 45 ms. PostgreSQL picks these plans by itself. The
# name is SQLite's for the table's primary key index.
SQLITE_BY_ID = "INDEXED BY sqlite_autoindex_statuses_1"
MERGE_LIMIT = 100  # statuses merged into a home feed when a follow starts (Mastodon: MAX_ITEMS / 4)


def home(viewer: Account, **page: Any) -> list[Status]:
    ids = current().feeds.ids(f"home:{viewer.id}", **page)
    return _load(ids, viewer, "home")


def list_timeline(viewer: Account, list_id: int, **page: Any) -> list[Status]:
    """A list's timeline; only its owner may read it (anyone else: NotFound)."""
    owned = db.session.get(AccountList, list_id)
    if owned is None or owned.account_id != viewer.id:
        raise NotFound("Record not found")
    ids = current().feeds.ids(f"list:{list_id}", **page)
    return _load(ids, viewer, f"list:{list_id}")


def public(
    viewer: Account | None, *, local: bool = False, remote: bool = False, only_media: bool = False, **page: Any
) -> list[Status]:
    query = public_statuses(viewer, local=local, remote=remote, only_media=only_media)
    ids = newest_first(list(db.session.scalars(paginate(query, Status.id, **page))), min_id=page.get("min_id"))
    return _load(ids, viewer, "public:local" if local else "public")


def public_statuses(
    viewer: Account | None, *, local: bool = False, remote: bool = False, only_media: bool = False
) -> Select[tuple[int]]:
    """Ids of the statuses of the public timeline (local or remote only, with media only) as ``viewer`` sees it."""
    query = select(Status.id).where(
        Status.visibility == Visibility.PUBLIC.value,
        Status.reblog_of_id.is_(None),
        visible_to(viewer),
        ~hidden_by(viewer),
        unlimited_for(viewer),
    )
    return _origin(query, local=local, remote=remote, only_media=only_media)


def _origin(query: Select[tuple[int]], *, local: bool, remote: bool, only_media: bool) -> Select[tuple[int]]:
    if local:
        query = query.where(Status.local.is_(True))
    elif remote:
        query = query.where(Status.local.is_(False))
    if only_media:
        query = query.where(exists().where(MediaAttachment.status_id == Status.id))
    return query


def tag(
    viewer: Account | None,
    name: str,
    *,
    any_of: Sequence[str] = (),
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
    **page: Any,
) -> list[Status]:
    """Public statuses with hashtag ``name`` (or any of ``any_of``), all of ``all_of``, none of ``none_of``."""
    query = tag_statuses(
        viewer,
        name,
        any_of=any_of,
        all_of=all_of,
        none_of=none_of,
        local=local,
        remote=remote,
        only_media=only_media,
    )
    ids = newest_first(list(db.session.scalars(paginate(query, Status.id, **page))), min_id=page.get("min_id"))
    return _load(ids, viewer, f"tag:{name.lower()}")


def tag_statuses(
    viewer: Account | None,
    name: str,
    *,
    any_of: Sequence[str] = (),
    all_of: Sequence[str] = (),
    none_of: Sequence[str] = (),
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
) -> Select[tuple[int]]:
    """Ids of the statuses of a hashtag's timeline as ``viewer`` sees it (see :func:`tag`)."""

    def tagged(names: Sequence[str]) -> Any:
        lowered = [n.lower().lstrip("#") for n in names]
        return exists().where(
            status_tags.c.status_id == Status.id, status_tags.c.tag_id == Tag.id, Tag.name.in_(lowered)
        )

    query = select(Status.id).where(
        Status.visibility == Visibility.PUBLIC.value,
        Status.reblog_of_id.is_(None),
        tagged([name, *any_of]),
        visible_to(viewer),
        ~hidden_by(viewer),
        unlimited_for(viewer),
    )
    for required in all_of:
        query = query.where(tagged([required]))
    if none_of:
        query = query.where(~tagged(none_of))
    return _origin(query, local=local, remote=remote, only_media=only_media)


def _load(ids: list[int], viewer: Account | None, timeline: str) -> list[Status]:
    if not ids:
        return []
    rows = db.session.scalars(
        select(Status)
        .with_hint(Status, SQLITE_BY_ID, "sqlite")
        .where(Status.id.in_(ids), visible_to(viewer), ~hidden_by(viewer))
    )
    by_id = {status.id: status for status in rows}
    pm = current().pm
    out = []
    for id_ in ids:
        status = by_id.get(id_)
        if status is None:
            continue
        if any(
            answer is False for answer in collect(pm, "timeline_admit", timeline=timeline, status=status, viewer=viewer)
        ):
            continue
        out.append(status)
    return out


def admitted(query: Select[tuple[int]], status_id: int, viewer: Account | None, timeline: str) -> Status | None:
    """The status ``status_id`` if it is on the timeline ``query`` defines, as a page of it would show it.

    For live events (the streaming API): the same rules as a timeline page,
    one status at a time.
    """
    if db.session.scalar(query.where(Status.id == status_id)) is None:
        return None
    found = _load([status_id], viewer, timeline)
    return found[0] if found else None


# ---------------------------------------------------------------- what belongs in a feed


def home_statuses(owner: Account) -> Select[tuple[int]]:
    """Ids of the statuses that belong in ``owner``'s home feed: the one definition.

    Their own statuses, those of accounts they follow and public statuses
    with a hashtag they follow, as visibility allows; replies only when they
    answer the owner, their own author or an account the owner follows (as
    Mastodon's home feed); boosts only from
    follows that show boosts, and never boosts of the owner's own statuses;
    nothing by members of the owner's exclusive lists (those go to the list).
    Feeds computed on read page through this; the fan-out to precomputed
    feeds (:func:`feeds_for`) follows the same rules.
    """
    return _home_statuses(owner.id)


@functools.lru_cache(maxsize=VIEWER_CACHE)
def home_page_template(owner_id: int, *, max_id: bool, since_id: bool, min_id: bool) -> Select[tuple[int]]:
    """A page of :func:`home_statuses` as a kept template; run it with ``pagination.page_params``."""
    return paginate_template(_home_statuses(owner_id), Status.id, max_id=max_id, since_id=since_id, min_id=min_id)


@functools.lru_cache(maxsize=VIEWER_CACHE)
def _home_statuses(owner_id: int) -> Select[tuple[int]]:
    followed = select(Follow.target_account_id).where(Follow.account_id == owner_id)
    no_reblogs_from = select(Follow.target_account_id).where(
        Follow.account_id == owner_id, Follow.show_reblogs.is_(False)
    )
    original = aliased(Status)
    own_boosted = exists().where(original.id == Status.reblog_of_id, original.account_id == owner_id)
    in_exclusive_list = (
        select(ListAccount.account_id)
        .join(AccountList, AccountList.id == ListAccount.list_id)
        .where(AccountList.account_id == owner_id, AccountList.exclusive.is_(True))
    )
    followed_tag = exists().where(
        status_tags.c.status_id == Status.id,
        status_tags.c.tag_id == TagFollow.tag_id,
        TagFollow.account_id == owner_id,
    )
    return (
        select(Status.id)
        .with_hint(Status, SQLITE_BY_ID, "sqlite")
        .where(
            or_(
                Status.account_id == owner_id,
                Status.account_id.in_(followed),
                and_(Status.visibility == Visibility.PUBLIC.value, Status.reblog_of_id.is_(None), followed_tag),
            ),
            or_(Status.reblog_of_id.is_(None), and_(Status.account_id.not_in(no_reblogs_from), ~own_boosted)),
            or_(Status.account_id == owner_id, Status.account_id.not_in(in_exclusive_list)),
            or_(  # a reply shows when it answers the owner, its own author or someone the owner follows
                Status.account_id == owner_id,
                Status.in_reply_to_account_id.is_(None),
                Status.in_reply_to_account_id == owner_id,
                Status.in_reply_to_account_id == Status.account_id,
                Status.in_reply_to_account_id.in_(followed),
            ),
            visible_to(owner_id),
            ~hidden_by(owner_id),
        )
    )


def list_statuses(feed_list: AccountList) -> Select[tuple[int]]:
    """Ids of the statuses that belong in a list's feed: its members', as its owner may see them.

    Replies only as the list's ``replies_policy`` allows (:func:`list_admits`).
    """
    owner = db.session.get(Account, feed_list.account_id)
    members = select(ListAccount.account_id).where(ListAccount.list_id == feed_list.id)
    return select(Status.id).where(
        Status.account_id.in_(members), list_admits(feed_list), visible_to(owner), ~hidden_by(owner)
    )


def list_admits(feed_list: Any, status: Any = Status) -> ColumnElement[bool]:
    """SQL condition: the list's ``replies_policy`` lets ``status`` in, by Mastodon's rule.

    A status that is not a reply, a reply to its own author (a thread) or a
    reply to the list's owner always gets in. Any other reply: ``followed``,
    when the owner follows the account replied to; ``list``, when that
    account is in the list too (and followed, as a home feed would ask);
    ``none``, never. ``feed_list`` is a list row, or the ``List`` class to
    correlate with lists in the outer query.
    """
    replied_to = status.in_reply_to_account_id
    followed = exists().where(Follow.account_id == feed_list.account_id, Follow.target_account_id == replied_to)
    member = exists().where(ListAccount.list_id == feed_list.id, ListAccount.account_id == replied_to)
    return or_(
        and_(status.in_reply_to_id.is_(None), replied_to.is_(None)),
        replied_to == status.account_id,
        replied_to == feed_list.account_id,
        and_(feed_list.replies_policy == "followed", followed),
        and_(feed_list.replies_policy == "list", member, followed),
    )


# ---------------------------------------------------------------- feed upkeep


def feeds_for(status: Status) -> list[str]:
    """Home and list feeds a status belongs in.

    Homes: the author's, and those of local followers in its audience (a
    mention alone does not put a status in a home feed: it notifies). The
    same rule as sql_feeds computes on read, which the feed conformance
    suite pins.
    """
    local_followers = select(Follow.account_id).where(Follow.target_account_id == status.account_id)
    local_audience = audience(status).where(Account.domain.is_(None), Account.id.in_(local_followers))
    owner_ids = set(db.session.scalars(local_audience.with_only_columns(Account.id)))
    if status.account.local:
        owner_ids.add(status.account_id)
    if status.reblog_of_id is not None:
        owner_ids.discard(status.reblog.account_id)  # nobody sees boosts of their own posts at home
        hide_reblogs = select(Follow.account_id).where(
            Follow.target_account_id == status.account_id, Follow.show_reblogs.is_(False)
        )
        owner_ids -= set(db.session.scalars(hide_reblogs))
    elif status.visibility == Visibility.PUBLIC.value and status.tags:
        tag_followers = select(TagFollow.account_id).where(TagFollow.tag_id.in_([t.id for t in status.tags]))
        local_tag_followers = select(Account.id).where(Account.id.in_(tag_followers), Account.domain.is_(None))
        blocked = select(Block.target_account_id).where(Block.account_id == status.account_id)
        owner_ids |= set(db.session.scalars(local_tag_followers.where(Account.id.not_in(blocked))))
    exclusive_owners = (
        select(AccountList.account_id)
        .join(ListAccount, ListAccount.list_id == AccountList.id)
        .where(ListAccount.account_id == status.account_id, AccountList.exclusive.is_(True))
    )
    home_owners = owner_ids - (set(db.session.scalars(exclusive_owners)) - {status.account_id})
    replied_to = status.in_reply_to_account_id
    if replied_to is not None and replied_to != status.account_id:  # Mastodon's rule for replies at home
        following_them = select(Follow.account_id).where(
            Follow.target_account_id == replied_to, Follow.account_id.in_(home_owners)
        )
        home_owners = set(db.session.scalars(following_them)) | (home_owners & {status.account_id, replied_to})
    feeds = [f"home:{owner_id}" for owner_id in sorted(home_owners)]
    lists = (
        select(AccountList.id)
        .join(ListAccount, ListAccount.list_id == AccountList.id)
        .where(
            ListAccount.account_id == status.account_id,
            AccountList.account_id.in_(owner_ids),
            exists().where(Status.id == status.id, list_admits(AccountList)),
        )
    )
    feeds += [f"list:{list_id}" for list_id in db.session.scalars(lists)]
    return feeds


def distribute(status: Status) -> None:
    """After a status is committed: fan it out (precomputed feeds), stream it, index it, tell subscribers."""
    from fedikit.core.streaming import publish

    state = current()
    if state.feeds.precomputed:
        jobs.enqueue("core.fan_out", status_id=status.id)
    publish.status_published(status)
    if status.reblog_of_id is None:
        jobs.enqueue("core.index_status", status_id=status.id)
        jobs.enqueue("core.notify_subscribers", status_id=status.id)


def withdraw(status_id: int, feeds: list[str]) -> None:
    """After a status is deleted: take it out of feeds and the search index."""
    state = current()
    if state.feeds.precomputed and feeds:
        state.feeds.remove(feeds, status_id)
    state.search.remove("statuses", status_id)


def after_follow(follower: Account, target: Account) -> None:
    if current().feeds.precomputed and follower.local:
        jobs.enqueue("core.merge_into_home", account_id=follower.id, target_account_id=target.id)


def after_unfollow(follower: Account, target: Account) -> None:
    if current().feeds.precomputed and follower.local:
        jobs.enqueue("core.unmerge_from_home", account_id=follower.id, target_account_id=target.id)


# ---------------------------------------------------------------- jobs


def fan_out_job(status_id: int) -> None:
    status = db.session.get(Status, status_id)
    if status is not None:
        current().feeds.add(feeds_for(status), status.id)


def merge_into_home_job(account_id: int, target_account_id: int) -> None:
    """A new followee's latest statuses, as far as they belong in the follower's home."""
    owner = db.session.get(Account, account_id)
    if owner is None:
        return
    query = home_statuses(owner).where(Status.account_id == target_account_id)
    feeds = current().feeds
    for status_id in db.session.scalars(query.order_by(Status.id.desc()).limit(MERGE_LIMIT)):
        feeds.add([f"home:{account_id}"], status_id)


def unmerge_from_home_job(account_id: int, target_account_id: int) -> None:
    query = select(Status.id).where(Status.account_id == target_account_id).order_by(Status.id.desc()).limit(1000)
    feeds = current().feeds
    for status_id in db.session.scalars(query):
        feeds.remove([f"home:{account_id}"], status_id)


def index_status_job(status_id: int) -> None:
    """Index a status's current text; safe against a concurrent edit or delete.

    Two jobs for one status (a post, then an edit) may run at once, and the
    one that read older text may write last. So after writing, the job reads
    the status again in a new transaction and repeats until what it wrote is
    still current (or removes the document if the status is gone).
    """
    index = current().search
    while True:
        db.session.rollback()  # a new transaction: see what is committed now
        status = db.session.get(Status, status_id)
        if status is None:
            index.remove("statuses", status_id)
            return
        body = _indexed_text(status)
        index.index("statuses", status_id, body)
        db.session.rollback()
        latest = db.session.get(Status, status_id)
        if latest is not None and _indexed_text(latest) == body:
            return


def _indexed_text(status: Status) -> str:
    body = status.text if status.local else plain_text(status.content)
    return f"{status.spoiler_text}\n{body}".strip()


def index_account_job(account_id: int) -> None:
    account = db.session.get(Account, account_id)
    if account is not None:
        words = (account.username, account.display_name, account.domain)  # Mastodon searches all three
        current().search.index("accounts", account.id, " ".join(w for w in words if w))


JOBS = {
    "core.fan_out": fan_out_job,
    "core.merge_into_home": merge_into_home_job,
    "core.unmerge_from_home": unmerge_from_home_job,
    "core.index_status": index_status_job,
    "core.index_account": index_account_job,
}
