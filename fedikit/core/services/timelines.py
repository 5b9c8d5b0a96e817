"""Timelines and feed upkeep.

Reading: every timeline ends in :func:`_load`, which applies visibility, the
viewer's blocks and mutes, and the ``timeline_admit`` hook.

Writing: with a precomputed feed store (``FeedStore.precomputed``), core fans a
status out to the home and list feeds of its local audience in a job, and
merges or removes a followee's statuses when a follow starts or ends. A store
computed from SQL needs none of that.

Idle users: as Mastodon, the fan-out skips local users who have not used the
API for ``FEED_ACTIVE_DAYS`` (nor signed up in that time); most accounts of a
big instance are idle, and their feeds would be written and never read. When
such a user comes back (their first authenticated request after the idle
spell), or when their feed is found empty, it is rebuilt from
:func:`home_statuses` before the answer.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select, union_all
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from fedikit.core import jobs
from fedikit.core.db import among, db, utcnow
from fedikit.core.models import (
    AccessToken,
    Account,
    Block,
    Follow,
    ListAccount,
    MediaAttachment,
    Status,
    Tag,
    TagFollow,
    User,
    status_tags,
)
from fedikit.core.models import List as AccountList
from fedikit.core.pagination import newest_first, paginate, paginate_template
from fedikit.core.plugins import collect
from fedikit.core.sanitize import plain_text
from fedikit.core.state import current
from fedikit.core.visibility import VIEWER_CACHE, audience, hidden_by, unlimited_for, visible_to
from fedikit.plugin_api import JobTimeout, NotFound, Visibility, batch_job, batch_size

log = logging.getLogger("fedikit.timelines")

# SQLite answers the visibility rules' ORs by gathering every row that any
# branch matches through its index, then sorting: 150 ms for a home page at
# 100,000 statuses, 8 ms to load 20 statuses by id. Walking the primary key
# (newest first, or straight to the ids) takes 0.2 ms; a viewer who follows
# nobody costs one scan, 45 ms. PostgreSQL picks these plans by itself. The
# name is SQLite's for the table's primary key index.
SQLITE_BY_ID = "INDEXED BY sqlite_autoindex_statuses_1"
MERGE_LIMIT = 100  # statuses merged into a home feed when a follow starts (Mastodon: MAX_ITEMS / 4)


def home(viewer: Account, **page: Any) -> list[Status]:
    """The viewer's home feed; a precomputed one found empty on its first page is rebuilt first.

    An empty first page means a new or idle account, or a feed the store lost
    (Redis flushed or evicted it): reading SQL once is then the right answer.
    """
    store = current().feeds
    feed = f"home:{viewer.id}"
    ids = store.ids(feed, **page)
    first_page = all(page.get(bound) is None for bound in ("max_id", "since_id", "min_id"))
    if not ids and first_page and store.precomputed and rebuild_home(viewer):
        ids = store.ids(feed, **page)
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
    """The statuses ``ids`` as the viewer may see them, in that order; boosts come with the statuses they
    boost already set (``Status.reblog``), from the same query."""
    if not ids:
        return []
    rows = db.session.scalars(_load_template(viewer.id if viewer is not None else None), {"load_ids": ids})
    by_id = {status.id: status for status in rows}
    policies = bool(current().pm.hook.timeline_admit.get_hookimpls())  # none: no call per status
    page = []
    for id_ in ids:
        status = by_id.get(id_)
        if status is None:
            continue
        if status.reblog_of_id:
            boosted = by_id.get(status.reblog_of_id)
            if boosted is None:  # deleted meanwhile: a boost of nothing is not shown
                continue
            set_committed_value(status, "reblog", boosted)
        if not policies or _policies_admit(status, viewer, timeline):
            page.append(status)
    return page


@functools.lru_cache(maxsize=VIEWER_CACHE)
def _load_template(viewer_id: int | None) -> Select[tuple[Status]]:
    """The statuses ``load_ids`` and those they boost, as far as the viewer may see them and has not hidden
    them, as a kept statement: building it and its cache key costs more than running it. (The boosted ones
    pass the same conditions: a boost is visible only with what it boosts.)"""
    boosts = aliased(Status)
    wanted = union_all(
        select(boosts.id).where(among(boosts.id, "load_ids")),
        select(boosts.reblog_of_id).where(among(boosts.id, "load_ids"), boosts.reblog_of_id.is_not(None)),
    )
    return (
        select(Status)
        .with_hint(Status, SQLITE_BY_ID, "sqlite")
        .where(
            Status.id.in_(wanted),
            visible_to(viewer_id),
            ~hidden_by(viewer_id),
        )
    )


def _policies_admit(status: Status, viewer: Account | None, timeline: str) -> bool:
    """No ``timeline_admit`` implementation refuses the status."""
    answers = collect(current().pm, "timeline_admit", timeline=timeline, status=status, viewer=viewer)
    return not any(answer is False for answer in answers)


def admitted(query: Select[tuple[int]], status_id: int, viewer: Account | None, timeline: str) -> Status | None:
    """The status ``status_id`` if it is on the timeline ``query`` defines, as a page of it would show it.

    For live events (the streaming API): the same rules as a timeline page,
    one status at a time. Every timeline query already holds the viewer's
    visibility and blocks/mutes conditions; the policies come after.
    """
    status = db.session.scalar(query.with_only_columns(Status).where(Status.id == status_id))
    return status if status is not None and _policies_admit(status, viewer, timeline) else None


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


def feeds_for(status: Status, *, active_only: bool = False) -> list[str]:
    """Home and list feeds a status belongs in.

    Homes: the author's, and those of local followers in its audience (a
    mention alone does not put a status in a home feed: it notifies). The
    same rule as sql_feeds computes on read, which the feed conformance
    suite pins. ``active_only``: only the feeds of active users
    (:func:`active_accounts`), for the fan-out; taking a status out of feeds
    needs them all, as an idle user's feed still holds what it got before.
    """
    local_followers = select(Follow.account_id).where(Follow.target_account_id == status.account_id)
    local_audience = audience(status).where(Account.domain.is_(None), Account.id.in_(local_followers))
    active = active_accounts() if active_only else None
    if active is not None:
        local_audience = local_audience.where(Account.id.in_(active))
    owner_ids = set(db.session.scalars(local_audience.with_only_columns(Account.id)))
    if status.account.local and (
        active is None or db.session.scalar(active.where(User.account_id == status.account_id)) is not None
    ):
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
        if active is not None:
            local_tag_followers = local_tag_followers.where(Account.id.in_(active))
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
    """After a status is committed: fan it out (precomputed feeds), stream it, index it, tell subscribers.

    One job does what applies (``core.after_status``): each job costs a
    queue's round trips, a database session and a load of the status, and
    a post has up to four of these to do.
    """
    from fedikit.core.streaming import publish

    steps = []
    if current().feeds.precomputed:
        steps.append("core.fan_out")  # which streams it too
    elif publish.streamed(status):
        steps.append("core.stream_status")
    if status.reblog_of_id is None:
        steps += ["core.index_status", "core.notify_subscribers"]
    if steps:
        jobs.enqueue("core.after_status", status_id=status.id, steps=steps)


AFTER_STATUS_STEPS = frozenset({"core.fan_out", "core.stream_status", "core.index_status", "core.notify_subscribers"})


AFTER_STATUS_BATCH = 100  # statuses one ``core.after_status`` job takes when many wait


@batch_job(AFTER_STATUS_BATCH)
def after_status_job(items: list[dict[str, Any]]) -> None:
    """The ``core.after_status`` job: for each status of ``items`` (``status_id`` and ``steps``), its ``steps``.

    Step by step for all the statuses at once (a step whose job is a batch job, as indexing and subscribers'
    notifications are, in one call for them all), each step's work committed when it ends. A step that fails is queued
    again on its own for each status (with its own tries), and the others still run. When the queue's time
    for the job runs out (:class:`JobTimeout`) after some work was done, what is left goes to new jobs: the
    finished steps are not run again. Out of time in its first step, the job fails as any job does, and the
    queue's retries (which are counted) take over.
    """
    plan: dict[str, list[int]] = {}
    for item in items:
        for name in item["steps"]:
            if name in AFTER_STATUS_STEPS:
                plan.setdefault(name, []).append(item["status_id"])
            else:
                log.warning("core.after_status: unknown step %r skipped", name)
    done: set[tuple[str, int]] = set()
    for name, status_ids in plan.items():
        try:
            _after_status_step(name, status_ids, done)
        except JobTimeout:
            db.session.rollback()
            if not done:
                raise
            left = [
                {"status_id": item["status_id"], "steps": steps}
                for item in items
                if (steps := [s for s in item["steps"] if s in plan and (s, item["status_id"]) not in done])
            ]
            log.warning("core.after_status: out of time in %s; queued again: %s", name, left)
            for later in left:
                jobs.enqueue("core.after_status", **later)
            return


def _after_status_step(name: str, status_ids: list[int], done: set[tuple[str, int]]) -> None:
    """Step ``name`` for ``status_ids``: in one call if its job is a batch job, else one status at a time."""
    handler = current().jobs.handlers[name]
    together = batch_size(handler) > 0
    for chunk in [status_ids] if together else [[status_id] for status_id in status_ids]:
        try:
            if together:
                handler([{"status_id": status_id} for status_id in chunk])
            else:
                handler(status_id=chunk[0])
            db.session.commit()
        except JobTimeout:
            raise
        except Exception:
            db.session.rollback()
            log.warning("%s for statuses %s failed; queued again on its own", name, chunk, exc_info=True)
            for status_id in chunk:
                jobs.enqueue(name, status_id=status_id)
        done.update((name, status_id) for status_id in chunk)


def withdraw(status_id: int, feeds: list[str]) -> None:
    """After a status is deleted: take it out of feeds and the search index."""
    state = current()
    if state.feeds.precomputed and feeds:
        state.feeds.remove(feeds, status_id)
    state.search.remove("statuses", status_id)


def after_follow(follower: Account, target: Account) -> None:
    if current().feeds.precomputed and follower.local:
        jobs.enqueue("core.merge_into_home", account_id=follower.id, target_account_id=target.id)


def home_rules_changed(owner_id: int) -> None:
    """What belongs in the owner's home changed (a followed hashtag, an exclusive list's members or flag).

    A precomputed home feed is made again from :func:`home_statuses`, so that
    it shows what a feed read from SQL shows.
    """
    if current().feeds.precomputed:
        jobs.enqueue("core.remake_home", account_id=owner_id)


def list_rules_changed(feed_list: AccountList) -> None:
    """What belongs in a list changed (its replies policy): a precomputed list feed is made again."""
    if current().feeds.precomputed:
        jobs.enqueue("core.remake_list", list_id=feed_list.id)


def after_unfollow(follower: Account, target: Account) -> None:
    if current().feeds.precomputed and follower.local:
        jobs.enqueue("core.unmerge_from_home", account_id=follower.id, target_account_id=target.id)


# ---------------------------------------------------------------- jobs


@batch_job(AFTER_STATUS_BATCH)
def fan_out_job(items: list[dict[str, Any]]) -> None:
    """The ``core.fan_out`` job (``status_id``): put new statuses into the precomputed feeds of their active
    audience.

    Each audience is computed once (``feeds``) and also tells live streams.
    Statuses read in one query; statuses of a batch whose audience is the
    same by construction (same author, visibility, hashtags and reply target,
    neither boosts nor direct messages) share one computation of it.
    """
    from fedikit.core.streaming import publish

    wanted = [item["status_id"] for item in items]
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(wanted)).options(_WITH_TAGS))}
    store = current().feeds
    add_reblog = getattr(store, "add_reblog", None)
    computed: dict[tuple[Any, ...], list[str]] = {}
    for status_id in dict.fromkeys(wanted):
        status = found.get(status_id)
        if status is None:  # deleted meanwhile
            continue
        key = _audience_key(status)
        feeds = computed.get(key) if key is not None else None
        if feeds is None:
            feeds = feeds_for(status, active_only=True)
            if key is not None:
                computed[key] = feeds
        if status.reblog_of_id is not None and add_reblog is not None:
            entered = add_reblog(feeds, status.id, status.reblog_of_id)  # homes that show the original may skip it
            publish.status_fanned_out(status, feeds if entered is None else list(entered))
        else:
            store.add(feeds, status.id)
            publish.status_fanned_out(status, feeds)


_WITH_TAGS = selectinload(Status.tags)


def _audience_key(status: Status) -> tuple[Any, ...] | None:
    """What :func:`feeds_for` depends on for ``status``, when that is not the status itself (None: it is)."""
    if status.reblog_of_id is not None or status.visibility == Visibility.DIRECT.value:
        return None  # whose boost, and who is mentioned, count
    tags = tuple(sorted(t.id for t in status.tags)) if status.visibility == Visibility.PUBLIC.value else ()
    replied = (status.in_reply_to_id is None, status.in_reply_to_account_id)
    return (status.account_id, status.visibility, tags, *replied)


def merge_into_home_job(account_id: int, target_account_id: int) -> None:
    """A new followee's latest statuses, as far as they belong in the follower's home."""
    owner = db.session.get(Account, account_id)
    if owner is None:
        return
    query = home_statuses(owner).where(Status.account_id == target_account_id)
    _fill(f"home:{account_id}", list(db.session.scalars(query.order_by(Status.id.desc()).limit(MERGE_LIMIT))))


def unmerge_from_home_job(account_id: int, target_account_id: int) -> None:
    query = select(Status.id).where(Status.account_id == target_account_id).order_by(Status.id.desc()).limit(1000)
    feeds = current().feeds
    for status_id in db.session.scalars(query):
        feeds.remove([f"home:{account_id}"], status_id)


# ---------------------------------------------------------------- idle users


def active_accounts(now: dt.datetime | None = None) -> Select[tuple[int]]:
    """Ids of the accounts whose user signed up or used the API in the last ``FEED_ACTIVE_DAYS``.

    Use of the API is each token's ``last_used_at``, which authentication
    already writes (at most hourly), so activity costs no extra write.
    """
    cutoff = (now or utcnow()) - dt.timedelta(days=int(current().config.get("FEED_ACTIVE_DAYS") or 7))
    recent_use = exists().where(AccessToken.user_id == User.id, AccessToken.last_used_at >= cutoff)
    return select(User.account_id).where(or_(User.created_at >= cutoff, recent_use))


def returning(user: User) -> bool:
    """True when ``user`` was idle until now: call it before recording a new use of the API.

    Only a precomputed feed store skips idle users, so only then is anyone
    "returning"; with feeds read from SQL this costs nothing.
    """
    if not current().feeds.precomputed:
        return False
    return db.session.scalar(active_accounts().where(User.id == user.id)) is None


def remake_list_job(list_id: int) -> None:
    feed_list = db.session.get(AccountList, list_id)
    if feed_list is None:
        return
    limit = int(current().config.get("FEED_MAX_ITEMS") or 400)
    ids = list(db.session.scalars(list_statuses(feed_list).order_by(Status.id.desc()).limit(limit)))
    current().feeds.clear(f"list:{list_id}")
    _fill(f"list:{list_id}", ids)


def remake_home_job(account_id: int) -> None:
    owner = db.session.get(Account, account_id)
    if owner is not None:
        current().feeds.clear(f"home:{owner.id}")
        rebuild_home(owner)


def rebuild_home(owner: Account) -> bool:
    """Merge the newest ``FEED_MAX_ITEMS`` statuses of :func:`home_statuses` into the owner's feed.

    Merging (not replacing) keeps whatever a concurrent fan-out adds. Boosts
    are not de-duplicated here: the rebuilt feed is the one SQL would show.
    True when anything was found.
    """
    if not current().feeds.precomputed:
        return False
    limit = int(current().config.get("FEED_MAX_ITEMS") or 400)
    ids = list(db.session.scalars(home_statuses(owner).order_by(Status.id.desc()).limit(limit)))
    _fill(f"home:{owner.id}", ids)
    return bool(ids)


def _fill(feed: str, status_ids: list[int]) -> None:
    store = current().feeds
    fill = getattr(store, "fill", None)
    if fill is not None:
        fill(feed, status_ids)
        return
    for status_id in status_ids:
        store.add([feed], status_id)


@batch_job(AFTER_STATUS_BATCH)
def index_status_job(items: list[dict[str, Any]]) -> None:
    """The ``core.index_status`` job (``status_id``): see :func:`index_statuses`."""
    index_statuses([item["status_id"] for item in items])


def index_statuses(status_ids: Sequence[int]) -> None:
    """Index statuses' current text; safe against a concurrent edit or delete.

    Two jobs for one status (a post, then an edit) may run at once, and the
    one that read older text may write last. So after writing, the texts are
    read again in a new transaction, and those no longer current are written
    again (or removed if the status is gone) until none is left. Many are
    written with the index's ``bulk_index`` when it has one.
    """
    index = current().search
    bulk = getattr(index, "bulk_index", None)
    left = list(dict.fromkeys(status_ids))
    while left:
        db.session.rollback()  # a new transaction: see what is committed now
        bodies = _indexed_texts(left)
        for gone in [status_id for status_id in left if status_id not in bodies]:
            index.remove("statuses", gone)
        if bulk is not None and len(bodies) > 1:
            bulk("statuses", list(bodies.items()))
        else:
            for status_id, body in bodies.items():
                index.index("statuses", status_id, body)
        db.session.rollback()
        now = _indexed_texts(list(bodies)) if bodies else {}
        left = [status_id for status_id, body in bodies.items() if now.get(status_id) != body]


# Only the columns the index needs (a whole status comes with its account's): built once.
_INDEXED = select(Status.id, Status.local, Status.text, Status.content, Status.spoiler_text).where(
    Status.id.in_(bindparam("ids", expanding=True))
)


def _indexed_texts(status_ids: Sequence[int]) -> dict[int, str]:
    """What the search index holds for each status as stored now (those gone are left out)."""
    return {row.id: _status_text(row) for row in db.session.execute(_INDEXED, {"ids": list(status_ids)})}


def _status_text(row: Any) -> str:
    """A status's indexed text, from anything with its ``local``, ``text``, ``content`` and ``spoiler_text``."""
    body = row.text if row.local else plain_text(row.content)
    return f"{row.spoiler_text}\n{body}".strip()


def index_account_job(account_id: int) -> None:
    account = db.session.get(Account, account_id)
    if account is not None:
        current().search.index("accounts", account.id, _account_text(account))


def _account_text(account: Account) -> str:
    words = (account.username, account.display_name, account.domain)  # Mastodon searches all three
    return " ".join(w for w in words if w)


class IndexedDocuments:
    """What the index jobs above store, read in bulk (``plugin_api.SearchDocuments``, for ``search deploy``)."""

    # Columns, not models: a deploy reads every row, and rows stay out of the session's identity map.
    def _query(self, kind: str, after_id: int) -> Select[Any]:
        if kind == "statuses":  # boosts are not indexed (see distribute)
            columns = (Status.id, Status.local, Status.text, Status.content, Status.spoiler_text)
            return select(*columns).where(Status.id > after_id, Status.reblog_of_id.is_(None)).order_by(Status.id)
        if kind == "accounts":
            columns = (Account.id, Account.username, Account.display_name, Account.domain)
            return select(*columns).where(Account.id > after_id).order_by(Account.id)
        raise ValueError(f"unknown search kind {kind!r}")

    def count(self, kind: str, *, after_id: int = 0) -> int:
        query = self._query(kind, after_id).order_by(None)
        return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0

    def batch(self, kind: str, *, after_id: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        text: Any = _status_text if kind == "statuses" else _account_text  # rows carry the attributes they read
        return [(row.id, text(row)) for row in db.session.execute(self._query(kind, after_id).limit(limit))]


JOBS = {
    "core.fan_out": fan_out_job,
    "core.merge_into_home": merge_into_home_job,
    "core.unmerge_from_home": unmerge_from_home_job,
    "core.remake_home": remake_home_job,
    "core.remake_list": remake_list_job,
    "core.index_status": index_status_job,
    "core.index_account": index_account_job,
    "core.after_status": after_status_job,
}
