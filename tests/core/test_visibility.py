"""Who may see a status and who receives it, on every path that returns statuses.

The matrix below is the specification: for each viewer relation and each
visibility, what ``visibility.can_see`` answers. Every other path (public and
home timelines, search, URL resolution, the delivery audience) is checked
against a table derived from it, so a path that disagrees with ``can_see`` shows
up as a differing cell.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from people import REMOTE, local, remote
from sqlalchemy import select

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, AccountDomainBlock, Mute, Notification, Status
from fedikit.core.services import relationships, search, statuses, timelines
from fedikit.core.visibility import audience, can_see
from fedikit.plugin_api.testing import settle

VISIBILITIES = ("public", "unlisted", "private", "direct")
WORD = "quokka"  # in every status of the matrix, for search

# Viewer relation -> can_see for public, unlisted, private, direct (T: visible, F: not).
CAN_SEE = {
    "anonymous": "TTFF",
    "author": "TTTT",
    "stranger": "TTFF",
    "follower": "TTTF",
    "pending": "TTFF",  # a follow request that is not yet accepted
    "mentioned": "TTTT",  # a mentioned account that does not follow
    "blocked": "FFFF",  # followed the author, then the author blocked it
    "remote_follower": "TTTF",
    "remote_pending": "TTFF",
    "remote_mentioned": "TTTT",
}

# Viewer relation -> is it in audience(status) (who the status is delivered to).
AUDIENCE = {
    "author": "FFFF",
    "stranger": "FFFF",
    "follower": "TTTF",
    "pending": "FFFF",
    "mentioned": "TTTT",
    "blocked": "FFFF",
    "remote_follower": "TTTF",
    "remote_pending": "FFFF",
    "remote_mentioned": "TTTT",
}

# Viewer relation -> is it in the viewer's home timeline (own statuses + followed accounts').
HOME = {
    "author": "TTTT",
    "stranger": "FFFF",
    "follower": "TTTF",
    "pending": "FFFF",
    "blocked": "FFFF",
}

LOCAL_VIEWERS = ("anonymous", "author", "stranger", "follower", "pending", "mentioned", "blocked")


def _flag(table: dict[str, str], relation: str, visibility: str) -> bool:
    return table[relation][VISIBILITIES.index(visibility)] == "T"


def remote_status(author: Account, text: str, *, visibility: str = "public") -> Status:
    number = db.session.query(Status).count() + 1
    status = Status(
        uri=f"https://{author.domain}/users/{author.username}/statuses/{number}",
        account=author,
        local=False,
        content=f"<p>{text}</p>",
        visibility=visibility,
    )
    db.session.add(status)
    db.session.commit()
    timelines.distribute(status)
    return status


@dataclasses.dataclass
class World:
    app: Flask
    viewers: dict[str, Account | None]
    statuses: dict[str, Status]

    @property
    def author(self) -> Account:
        author = self.viewers["author"]
        assert author is not None
        return author


@pytest.fixture
def world(fedikit_app: Flask) -> World:
    """A locked author, one status per visibility, and a viewer for each relation."""
    author = local("author", locked=True)
    viewers: dict[str, Account | None] = {
        "anonymous": None,
        "author": author,
        "stranger": local("stranger"),
        "follower": local("follower"),
        "pending": local("pending"),
        "mentioned": local("mentioned"),
        "blocked": local("blocked"),
        "remote_follower": remote("rfollower"),
        "remote_pending": remote("rpending"),
        "remote_mentioned": remote("rmentioned"),
    }
    for name in ("follower", "pending", "blocked", "remote_follower", "remote_pending"):
        assert type(relationships.follow(viewers[name], author)).__name__ == "FollowRequest"
    for name in ("follower", "blocked", "remote_follower"):
        relationships.authorize(author, viewers[name])
    relationships.block(author, viewers["blocked"])
    posted = {
        visibility: statuses.post(author, f"@mentioned @rmentioned@{REMOTE} {WORD} {visibility}", visibility=visibility)
        for visibility in VISIBILITIES
    }
    return World(fedikit_app, viewers, posted)


# ---------------------------------------------------------------- the matrix


def _ids(found: list[Status]) -> set[int]:
    return {status.id for status in found}


def _public(world: World, viewer: Account | None, status: Status) -> bool:
    return status.id in _ids(timelines.public(viewer, limit=40))


def _home(world: World, viewer: Account | None, status: Status) -> bool:
    assert viewer is not None
    settle(world.app)
    return status.id in _ids(timelines.home(viewer, limit=40))


def _search(world: World, viewer: Account | None, status: Status) -> bool:
    settle(world.app)
    return status.id in _ids(search.statuses(viewer, WORD, limit=40))


def _resolve(world: World, viewer: Account | None, status: Status) -> bool:
    found = search.resolve_url(status.uri, viewer)
    assert found is None or found.id == status.id
    return found is not None


def _audience(world: World, viewer: Account | None, status: Status) -> bool:
    assert viewer is not None
    return viewer.id in {account.id for account in db.session.scalars(audience(status))}


def _can_see(world: World, viewer: Account | None, status: Status) -> bool:
    return can_see(viewer, status)


# path -> (how to ask it, which relations it applies to, the expected table)
PATHS: dict[str, tuple[Callable[[World, Any, Status], bool], tuple[str, ...], Callable[[str, str], bool]]] = {
    "can_see": (_can_see, tuple(CAN_SEE), lambda r, v: _flag(CAN_SEE, r, v)),
    "resolve_url": (_resolve, tuple(CAN_SEE), lambda r, v: _flag(CAN_SEE, r, v)),
    "search": (_search, LOCAL_VIEWERS, lambda r, v: _flag(CAN_SEE, r, v)),
    "public_timeline": (_public, LOCAL_VIEWERS, lambda r, v: v == "public" and _flag(CAN_SEE, r, v)),
    "home_timeline": (_home, tuple(HOME), lambda r, v: _flag(HOME, r, v)),
    "audience": (_audience, tuple(AUDIENCE), lambda r, v: _flag(AUDIENCE, r, v)),
}


def test_the_world_is_as_described(world: World) -> None:
    author = world.author
    assert (author.followers_count, author.locked) == (2, True)
    mentioned = {m.account_id for m in world.statuses["direct"].mentions}
    assert mentioned == {world.viewers["mentioned"].id, world.viewers["remote_mentioned"].id}


@pytest.mark.parametrize("path", list(PATHS))
def test_matrix(world: World, path: str) -> None:
    """One row per viewer relation, one letter per visibility (public, unlisted, private, direct)."""
    ask, relations, expected_for = PATHS[path]

    def row(answer: Callable[[str], bool]) -> str:
        return "".join("T" if answer(visibility) else "F" for visibility in VISIBILITIES)

    actual = {r: row(lambda v, r=r: ask(world, world.viewers[r], world.statuses[v])) for r in relations}
    expected = {r: row(lambda v, r=r: expected_for(r, v)) for r in relations}
    assert actual == expected


def test_anonymous_public_timeline_is_public_statuses_only(world: World) -> None:
    assert _ids(timelines.public(None)) == {world.statuses["public"].id}


# ---------------------------------------------------------------- reblogs


def test_reblog_of_public_status_is_visible_where_both_are(world: World) -> None:
    v = world.viewers
    booster = local("booster")
    relationships.follow(v["stranger"], booster)
    boost = statuses.reblog(booster, world.statuses["public"])
    assert boost.visibility == "public"
    for relation in ("anonymous", "author", "stranger", "follower", "pending", "mentioned"):
        assert can_see(v[relation], boost), relation
        assert search.resolve_url(boost.uri, v[relation]) is not None, relation
    # The author of the boosted status blocks this viewer: the boost is hidden too.
    assert not can_see(v["blocked"], boost)
    assert search.resolve_url(boost.uri, v["blocked"]) is None
    # A boost reaches the booster's followers' home, never the public timeline.
    settle(world.app)
    assert boost.id in _ids(timelines.home(v["stranger"]))
    assert boost.id not in _ids(timelines.public(None, limit=40))
    assert boost.id not in _ids(timelines.public(v["stranger"], limit=40))
    assert v["stranger"].id in {a.id for a in db.session.scalars(audience(boost))}


def test_followers_only_reblog_of_public_status(world: World) -> None:
    v = world.viewers
    booster = local("booster")
    relationships.follow(v["follower"], booster)
    boost = statuses.reblog(booster, world.statuses["public"], visibility="private")
    assert boost.visibility == "private"
    assert can_see(v["follower"], boost)  # follows the booster
    assert not can_see(v["stranger"], boost)  # the boosted status is public, the boost is not
    assert not can_see(None, boost)
    assert can_see(v["stranger"], world.statuses["public"])
    settle(world.app)
    assert boost.id in _ids(timelines.home(v["follower"]))
    assert boost.id not in _ids(timelines.home(v["stranger"]))


def test_reblog_of_own_private_status_reaches_followers_only(world: World) -> None:
    v = world.viewers
    boost = statuses.reblog(world.author, world.statuses["private"])
    assert boost.visibility == "private"
    expected = {
        "anonymous": False,
        "author": True,
        "stranger": False,
        "follower": True,
        "pending": False,
        "mentioned": False,  # mentioned in the status, but the boost row is followers-only
        "blocked": False,
        "remote_follower": True,
        "remote_pending": False,
    }
    assert {relation: can_see(v[relation], boost) for relation in expected} == expected
    receivers = {a.id for a in db.session.scalars(audience(boost))}
    assert receivers == {v["follower"].id, v["remote_follower"].id}
    assert boost.id not in _ids(timelines.public(v["follower"], limit=40))


def test_boost_is_hidden_when_boosted_status_becomes_invisible(world: World) -> None:
    v = world.viewers
    booster = local("booster")
    boost = statuses.reblog(booster, world.statuses["public"])
    assert can_see(v["stranger"], boost)
    relationships.block(world.author, v["stranger"])
    assert not can_see(v["stranger"], boost)
    assert can_see(v["follower"], boost)


# ---------------------------------------------------------------- suspended authors


def test_nothing_by_a_suspended_account_is_visible(world: World) -> None:
    v = world.viewers
    booster = local("booster")
    boost = statuses.reblog(booster, world.statuses["public"])
    settle(world.app)
    world.author.suspended_at = utcnow()
    db.session.commit()
    for visibility, status in world.statuses.items():
        for relation, viewer in v.items():
            assert not can_see(viewer, status), (visibility, relation)
            assert search.resolve_url(status.uri, viewer) is None, (visibility, relation)
    for relation in LOCAL_VIEWERS:
        viewer = v[relation]
        assert not can_see(viewer, boost), relation
        assert search.statuses(viewer, WORD, limit=40) == [], relation
        assert timelines.public(viewer, limit=40) == [], relation
        if viewer is not None:
            assert timelines.home(viewer, limit=40) == [], relation


def test_a_boost_by_a_suspended_account_is_not_visible(world: World) -> None:
    booster = local("booster")
    boost = statuses.reblog(booster, world.statuses["public"])
    booster.suspended_at = utcnow()
    db.session.commit()
    assert not can_see(None, boost)
    assert not can_see(world.viewers["stranger"], boost)
    assert can_see(world.viewers["stranger"], world.statuses["public"])


def test_suspended_accounts_receive_nothing(world: World) -> None:
    follower = world.viewers["follower"]
    follower.suspended_at = utcnow()
    db.session.commit()
    receivers = {a.id for a in db.session.scalars(audience(world.statuses["private"]))}
    assert follower.id not in receivers
    assert world.viewers["remote_follower"].id in receivers


# ---------------------------------------------------------------- mentions added by an edit


@pytest.mark.parametrize("visibility", ["private", "direct"])
def test_mention_added_by_edit_grants_access(world: World, visibility: str) -> None:
    author, stranger = world.author, world.viewers["stranger"]
    status = statuses.post(author, "a secret for nobody yet", visibility=visibility)
    assert not can_see(stranger, status)
    assert stranger.id not in {a.id for a in db.session.scalars(audience(status))}

    statuses.edit(author, status, "a secret for @stranger")

    assert can_see(stranger, status)
    assert search.resolve_url(status.uri, stranger) is not None
    assert stranger.id in {a.id for a in db.session.scalars(audience(status))}
    assert not can_see(world.viewers["pending"], status)
    notes = db.session.scalars(
        select(Notification).where(Notification.account_id == stranger.id, Notification.status_id == status.id)
    ).all()
    assert [n.type for n in notes] == ["mention"]


# ---------------------------------------------------------------- remote accounts


def test_remote_pending_follower_is_not_in_audience_until_accepted(world: World) -> None:
    pending = world.viewers["remote_pending"]
    private = statuses.post(world.author, "followers only", visibility="private")
    assert pending.id not in {a.id for a in db.session.scalars(audience(private))}
    assert not can_see(pending, private)
    relationships.authorize(world.author, pending)
    assert pending.id in {a.id for a in db.session.scalars(audience(private))}
    assert can_see(pending, private)


def test_rejected_remote_follower_receives_nothing(world: World) -> None:
    pending = world.viewers["remote_pending"]
    relationships.reject(world.author, pending)
    private = statuses.post(world.author, "followers only", visibility="private")
    assert pending.id not in {a.id for a in db.session.scalars(audience(private))}


def test_private_status_of_remote_account_needs_accepted_follow(world: World) -> None:
    bob = remote("bob")
    local_viewer = world.viewers["stranger"]
    private = remote_status(bob, "only for my followers", visibility="private")
    assert not can_see(local_viewer, private)
    request = relationships.follow(local_viewer, bob)
    assert type(request).__name__ == "FollowRequest"
    assert not can_see(local_viewer, private)  # the remote server has not accepted yet
    relationships.authorize(bob, local_viewer)
    assert can_see(local_viewer, private)
    settle(world.app)
    assert private.id in _ids(timelines.home(local_viewer))


def test_audience_never_includes_accounts_the_author_blocks(world: World) -> None:
    author, blocked = world.author, world.viewers["blocked"]
    for visibility in VISIBILITIES:
        status = statuses.post(author, f"@blocked hello {visibility}", visibility=visibility)
        assert blocked.id in {m.account_id for m in status.mentions}
        assert blocked.id not in {a.id for a in db.session.scalars(audience(status))}, visibility


def test_direct_audience_is_only_the_mentioned(world: World) -> None:
    receivers = {a.id for a in db.session.scalars(audience(world.statuses["direct"]))}
    v = world.viewers
    assert receivers == {v["mentioned"].id, v["remote_mentioned"].id}


# ---------------------------------------------------------------- the viewer's own choices (hidden_by)


def test_muted_author_is_hidden_from_timelines_but_still_visible(world: World) -> None:
    v = world.viewers
    public = world.statuses["public"]
    relationships.mute(v["follower"], world.author)
    relationships.mute(v["stranger"], world.author, duration=3600)
    settle(world.app)
    assert public.id not in _ids(timelines.home(v["follower"]))
    assert public.id not in _ids(timelines.public(v["follower"]))
    assert public.id not in _ids(timelines.public(v["stranger"]))
    assert can_see(v["follower"], public)
    assert public.id in _ids(timelines.public(v["pending"]))


def test_expired_mute_no_longer_hides(world: World) -> None:
    v = world.viewers
    public = world.statuses["public"]
    mute = relationships.mute(v["follower"], world.author, duration=60)
    assert public.id not in _ids(timelines.home(v["follower"]))
    mute.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    assert db.session.get(Mute, mute.id) is not None
    assert public.id in _ids(timelines.home(v["follower"]))
    assert public.id in _ids(timelines.public(v["follower"]))


def test_blocked_author_is_hidden_from_the_blockers_timelines(world: World) -> None:
    v = world.viewers
    public = world.statuses["public"]
    relationships.block(v["stranger"], world.author)
    assert public.id not in _ids(timelines.public(v["stranger"]))
    assert public.id in _ids(timelines.public(v["pending"]))


def test_boost_of_a_muted_account_is_hidden_from_home(world: World) -> None:
    v = world.viewers
    booster = local("booster")
    relationships.follow(v["stranger"], booster)
    boost = statuses.reblog(booster, world.statuses["public"])
    settle(world.app)
    assert boost.id in _ids(timelines.home(v["stranger"]))
    relationships.mute(v["stranger"], world.author)
    assert boost.id not in _ids(timelines.home(v["stranger"]))


def test_domain_block_hides_remote_authors_from_public_timeline(world: World) -> None:
    v = world.viewers
    bob = remote("bob")
    theirs = remote_status(bob, "hello from afar")
    assert theirs.id in _ids(timelines.public(v["stranger"]))
    db.session.add(AccountDomainBlock(account_id=v["stranger"].id, domain=REMOTE))
    db.session.commit()
    assert theirs.id not in _ids(timelines.public(v["stranger"]))
    assert theirs.id in _ids(timelines.public(v["follower"]))
    assert can_see(v["stranger"], theirs)


def test_public_timeline_local_and_remote_filters(world: World) -> None:
    bob = remote("bob")
    theirs = remote_status(bob, "hello from afar")
    remote_status(bob, "unlisted from afar", visibility="unlisted")
    ours = world.statuses["public"]
    statuses.reblog(local("booster"), ours)
    assert _ids(timelines.public(None)) == {ours.id, theirs.id}
    assert _ids(timelines.public(None, local=True)) == {ours.id}
    assert _ids(timelines.public(None, remote=True)) == {theirs.id}


def test_everyone_in_the_audience_may_see_the_status(world: World) -> None:
    booster = local("booster")
    relationships.follow(world.viewers["stranger"], booster)
    boosts = [
        statuses.reblog(booster, world.statuses["public"]),
        statuses.reblog(world.author, world.statuses["private"]),
    ]
    for status in [*world.statuses.values(), *boosts]:
        for account in db.session.scalars(audience(status)):
            assert can_see(account, status), (status.visibility, account.acct)


def test_a_boost_is_not_delivered_to_accounts_the_boosted_author_blocks(world: World) -> None:
    booster, blocked = local("booster"), world.viewers["blocked"]
    relationships.follow(blocked, booster)
    boost = statuses.reblog(booster, world.statuses["public"])
    assert not can_see(blocked, boost)
    assert blocked.id not in {a.id for a in db.session.scalars(audience(boost))}
