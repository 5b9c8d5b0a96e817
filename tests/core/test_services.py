"""Domain actions through the services, as the API layer or a plugin would call them.

Each action is checked for what it stores, the counters it keeps, the
notifications it leaves, and the domain event it fires (exactly once, after
the change, with the right arguments).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from people import local, remote
from sqlalchemy import func, select

from fedikit.core.db import db, utcnow
from fedikit.core.errors import Forbidden, NotFound, ValidationError
from fedikit.core.models import (
    Account,
    Block,
    Favourite,
    Follow,
    FollowRequest,
    Mention,
    Mute,
    Notification,
    Status,
    Tag,
)
from fedikit.core.services import accounts, relationships, search, statuses
from fedikit.plugin_api import JobTimeout, batch_size
from fedikit.plugin_api.markers import hookimpl
from fedikit.plugin_api.testing import record_hooks, register_plugin, settle


def notifications(recipient: Account, type_: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.account_id == recipient.id).order_by(Notification.id)
    if type_ is not None:
        query = query.where(Notification.type == type_)
    return list(db.session.scalars(query))


def count(model: type, *conditions: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def fresh(account: Account) -> Account:
    db.session.refresh(account)
    return account


@pytest.fixture
def alice(fedikit_app: Flask) -> Account:
    return local("alice")


@pytest.fixture
def bob(fedikit_app: Flask) -> Account:
    return local("bob")


@pytest.fixture
def carol(fedikit_app: Flask) -> Account:
    return local("carol")


# ---------------------------------------------------------------- post


def test_post_resolves_and_notifies_mentions(alice: Account, bob: Account) -> None:
    carol = remote("carol")
    status = statuses.post(alice, "hi @bob and @carol@remote.example and @nobody")
    assert {m.account_id for m in status.mentions} == {bob.id, carol.id}
    assert 'class="u-url mention"' in status.content
    assert [(n.type, n.from_account_id, n.status_id) for n in notifications(bob)] == [("mention", alice.id, status.id)]
    assert notifications(carol) == []  # remote accounts are notified by their own server
    assert status.text == "hi @bob and @carol@remote.example and @nobody"
    assert fresh(alice).statuses_count == 1


def test_post_stores_hashtags_lower_case_and_reuses_them(alice: Account) -> None:
    first = statuses.post(alice, "#Fedi and #FEDI and #Python")
    second = statuses.post(alice, "more #fedi")
    assert sorted(t.name for t in first.tags) == ["fedi", "python"]
    assert [t.name for t in second.tags] == ["fedi"]
    assert count(Tag) == 2
    assert second.tags[0].id in {t.id for t in first.tags}


class TestCharacterLimit:
    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {**database, "MAX_STATUS_CHARS": "20"}

    def test_limit_comes_from_config(self, alice: Account) -> None:
        assert statuses.post(alice, "x" * 20).text == "x" * 20
        with pytest.raises(ValidationError, match="character limit of 20"):
            statuses.post(alice, "x" * 21)
        with pytest.raises(ValidationError):
            statuses.post(alice, "x" * 10, spoiler_text="y" * 11)  # the content warning counts too
        assert count(Status) == 1
        assert fresh(alice).statuses_count == 1

    def test_edit_is_held_to_the_limit(self, alice: Account) -> None:
        status = statuses.post(alice, "short")
        with pytest.raises(ValidationError):
            statuses.edit(alice, status, "x" * 21)
        db.session.rollback()
        assert db.session.get(Status, status.id).text == "short"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_is_rejected(alice: Account, text: str) -> None:
    with pytest.raises(ValidationError, match="blank"):
        statuses.post(alice, text)
    assert count(Status) == 0


def test_unknown_visibility_is_rejected(alice: Account) -> None:
    with pytest.raises(ValidationError):
        statuses.post(alice, "hello", visibility="friends")


def test_reply_to_a_status_you_cannot_see_is_not_found(alice: Account, bob: Account, carol: Account) -> None:
    secret = statuses.post(bob, "@carol just us", visibility="direct")
    with pytest.raises(NotFound):
        statuses.post(alice, "me too", in_reply_to=secret)
    assert fresh(secret).replies_count == 0
    assert count(Status, Status.account_id == alice.id) == 0


def test_reply_counts_and_shares_the_conversation(alice: Account, bob: Account) -> None:
    parent = statuses.post(bob, "a question")
    reply = statuses.post(alice, "an answer", in_reply_to=parent)
    statuses.post(bob, "a follow-up", in_reply_to=reply)
    assert (reply.in_reply_to_id, reply.in_reply_to_account_id) == (parent.id, bob.id)
    assert reply.conversation_id == parent.conversation_id
    assert fresh(parent).replies_count == 1
    assert fresh(reply).replies_count == 1


def test_post_fires_status_created_once(fedikit_app: Flask, alice: Account) -> None:
    with record_hooks(fedikit_app) as hooks:
        status = statuses.post(alice, "hello")
    assert [call.kwargs for call in hooks.of("status_created")] == [{"status": status}]


def test_rejected_post_fires_nothing(fedikit_app: Flask, alice: Account) -> None:
    with record_hooks(fedikit_app) as hooks, pytest.raises(ValidationError):
        statuses.post(alice, " ")
    assert not hooks.called("status_created")


# ---------------------------------------------------------------- edit


def test_only_the_author_may_edit(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "mine")
    with record_hooks(fedikit_app) as hooks, pytest.raises(Forbidden):
        statuses.edit(bob, status, "yours now")
    assert fresh(status).text == "mine"
    assert status.edits == [] and status.edited_at is None
    assert not hooks.called("status_updated")


def test_edit_keeps_history(fedikit_app: Flask, alice: Account) -> None:
    status = statuses.post(alice, "first #One")
    with record_hooks(fedikit_app) as hooks:
        statuses.edit(alice, status, "second #Two", spoiler_text="cw")
    assert [e.text for e in status.edits] == ["first #One", "second #Two"]
    assert [e.spoiler_text for e in status.edits] == ["", "cw"]
    assert status.edited_at is not None
    assert (status.text, status.spoiler_text, status.sensitive) == ("second #Two", "cw", True)
    assert [t.name for t in status.tags] == ["two"]
    assert [call.kwargs for call in hooks.of("status_updated")] == [{"status": status}]
    statuses.edit(alice, status, "third")
    assert [e.text for e in fresh(status).edits] == ["first #One", "second #Two", "third"]


def test_edit_notifies_newly_mentioned_once(alice: Account, bob: Account, carol: Account) -> None:
    status = statuses.post(alice, "hi @bob")
    statuses.edit(alice, status, "hi @bob and @carol")
    statuses.edit(alice, status, "hi @bob and @carol again")
    assert {m.account_id for m in status.mentions} == {bob.id, carol.id}
    assert [n.type for n in notifications(bob)] == ["mention"]
    assert [n.type for n in notifications(carol)] == ["mention"]


def test_edit_notifies_boosters(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "boost me")
    statuses.reblog(bob, status)
    statuses.edit(alice, status, "boost me, edited")
    assert [n.type for n in notifications(bob)] == ["update"]


def test_edit_updates_the_search_index(fedikit_app: Flask, alice: Account) -> None:
    status = statuses.post(alice, "original wombat")
    statuses.edit(alice, status, "edited platypus")
    settle(fedikit_app)
    assert [s.id for s in search.statuses(alice, "platypus")] == [status.id]
    assert search.statuses(alice, "wombat") == []


def test_a_failing_follow_up_is_tried_again_alone_and_the_others_still_run(
    fedikit_app: Flask, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A post's follow-ups (index, subscribers' notifications...) run as one job; one that fails is queued
    again on its own, without holding the others back or running them twice."""
    relationships.follow(bob, alice, notify_posts=True)
    handlers = fedikit_app.extensions["fedikit"].jobs.handlers
    index = handlers["core.index_status"]
    calls: list[int] = []

    def index_failing_once(status_id: int) -> None:
        calls.append(status_id)
        if len(calls) == 1:
            raise RuntimeError("the search index is away for a moment")
        index([{"status_id": status_id}])

    monkeypatch.setitem(handlers, "core.index_status", index_failing_once)
    status = statuses.post(alice, "numbat sighting")
    settle(fedikit_app)
    assert calls == [status.id, status.id]  # tried in the shared job, then alone
    assert [s.id for s in search.statuses(alice, "numbat")] == [status.id]
    assert [n.status_id for n in notifications(bob, "status")] == [status.id]  # once, though a step failed


def test_follow_ups_out_of_time_go_on_in_a_new_job_without_running_the_finished_ones_again(
    fedikit_app: Flask, alice: Account, bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A queue that bounds a job's time raises JobTimeout inside it: the step under way and the ones after it
    are queued as a new job, and the steps already done are not run again."""
    relationships.follow(bob, alice, notify_posts=True)
    handlers = fedikit_app.extensions["fedikit"].jobs.handlers
    calls: list[str] = []

    def counted(name: str, time_out_once: bool = False) -> Any:
        step = handlers[name]

        def run(status_id: int) -> None:
            calls.append(name)
            if time_out_once and calls.count(name) == 1:
                raise JobTimeout("the job's time is up")
            step([{"status_id": status_id}]) if batch_size(step) else step(status_id=status_id)

        return run

    for name in ("core.fan_out", "core.stream_status", "core.notify_subscribers"):
        monkeypatch.setitem(handlers, name, counted(name))
    monkeypatch.setitem(handlers, "core.index_status", counted("core.index_status", time_out_once=True))
    status = statuses.post(alice, "quokka sighting")
    settle(fedikit_app)
    index_at = calls.index("core.index_status")
    assert calls[index_at:] == ["core.index_status", "core.index_status", "core.notify_subscribers"]
    assert len(calls[:index_at]) == len(set(calls[:index_at]))  # what ran before the timeout ran once
    assert [s.id for s in search.statuses(alice, "quokka")] == [status.id]
    assert [n.status_id for n in notifications(bob, "status")] == [status.id]


def test_a_poll_an_edit_adds_or_removes_shows_at_once(fedikit_app: Flask, alice: Account) -> None:
    """A status just posted knows it has no poll (no query to ask); an edit that changes that says so."""
    from fedikit.core.api.serializers.statuses import status as entity
    from fedikit.core.services.polls import PollSpec

    status = statuses.post(alice, "which one")
    with fedikit_app.test_request_context():
        assert entity(alice, status)["poll"] is None
        statuses.edit(alice, status, "which one?", poll=PollSpec(options=("this", "that"), expires_in=3600))
        assert [o["title"] for o in entity(alice, status)["poll"]["options"]] == ["this", "that"]
        statuses.edit(alice, status, "never mind", poll=None)
        assert entity(alice, status)["poll"] is None


# ---------------------------------------------------------------- delete


def test_delete_returns_a_readable_detached_copy(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "going away @bob #Gone")
    status_id, uri = status.id, status.uri
    with record_hooks(fedikit_app) as hooks:
        removed = statuses.delete(alice, status)
    assert (removed.id, removed.text, removed.uri) == (status_id, "going away @bob #Gone", uri)
    assert [m.account_id for m in removed.mentions] == [bob.id]
    assert [t.name for t in removed.tags] == ["gone"]
    assert removed.account.username == "alice"
    assert db.session.get(Status, status_id) is None
    assert count(Mention, Mention.status_id == status_id) == 0
    assert fresh(alice).statuses_count == 0
    assert [call.kwargs for call in hooks.of("status_deleted")] == [{"status": removed}]


def test_only_the_author_may_delete(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "mine")
    with pytest.raises(Forbidden):
        statuses.delete(bob, status)
    assert db.session.get(Status, status.id) is not None


def test_delete_removes_boosts_favourites_and_fixes_the_reply_count(
    fedikit_app: Flask, alice: Account, bob: Account
) -> None:
    parent = statuses.post(bob, "parent")
    reply = statuses.post(alice, "reply", in_reply_to=parent)
    boost = statuses.reblog(bob, reply)
    statuses.favourite(bob, reply)
    assert fresh(parent).replies_count == 1
    settle(fedikit_app)
    statuses.delete(alice, reply)
    assert db.session.get(Status, boost.id) is None
    assert count(Favourite) == 0
    assert fresh(parent).replies_count == 0
    assert search.statuses(alice, "reply") == []


def test_delete_fixes_the_boosters_status_count(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "boost me")
    statuses.reblog(bob, status)
    assert fresh(bob).statuses_count == 1
    statuses.delete(alice, status)
    assert fresh(bob).statuses_count == 0


def test_a_boost_is_undone_with_unreblog_not_delete(alice: Account, bob: Account) -> None:
    boost = statuses.reblog(bob, statuses.post(alice, "boost me"))
    with pytest.raises(ValidationError):
        statuses.delete(bob, boost)


# ---------------------------------------------------------------- follow


def test_follow_unlocked_account(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    with record_hooks(fedikit_app) as hooks:
        relation = relationships.follow(alice, bob)
    assert isinstance(relation, Follow)
    assert (fresh(alice).following_count, fresh(bob).followers_count) == (1, 1)
    assert (fresh(alice).followers_count, fresh(bob).following_count) == (0, 0)
    assert [(n.type, n.from_account_id) for n in notifications(bob)] == [("follow", alice.id)]
    assert [call.kwargs for call in hooks.of("follow_accepted")] == [{"follower": alice, "target": bob}]
    assert not hooks.called("follow_requested")


def test_follow_again_only_updates_options(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    first = relationships.follow(alice, bob)
    with record_hooks(fedikit_app) as hooks:
        again = relationships.follow(alice, bob, reblogs=False)
    assert again.id == first.id and again.show_reblogs is False
    assert fresh(bob).followers_count == 1
    assert len(notifications(bob)) == 1
    assert not hooks.called("follow_accepted")


def test_follow_locked_account_is_a_request(fedikit_app: Flask, alice: Account) -> None:
    locked = local("locked", locked=True)
    with record_hooks(fedikit_app) as hooks:
        request = relationships.follow(alice, locked)
    assert isinstance(request, FollowRequest)
    assert count(Follow) == 0
    assert (fresh(alice).following_count, fresh(locked).followers_count) == (0, 0)
    assert [(n.type, n.from_account_id) for n in notifications(locked)] == [("follow_request", alice.id)]
    assert [call.kwargs for call in hooks.of("follow_requested")] == [{"follower": alice, "target": locked}]
    assert not hooks.called("follow_accepted")


def test_authorize_turns_the_request_into_a_follow(fedikit_app: Flask, alice: Account) -> None:
    locked = local("locked", locked=True)
    relationships.follow(alice, locked, reblogs=False)
    with record_hooks(fedikit_app) as hooks:
        relation = relationships.authorize(locked, alice)
    assert isinstance(relation, Follow) and relation.show_reblogs is False
    assert count(FollowRequest) == 0
    assert (fresh(alice).following_count, fresh(locked).followers_count) == (1, 1)
    assert [call.kwargs for call in hooks.of("follow_accepted")] == [{"follower": alice, "target": locked}]
    with pytest.raises(ValidationError):
        relationships.authorize(locked, alice)  # nothing left to authorise


def test_reject_removes_the_request(fedikit_app: Flask, alice: Account) -> None:
    locked = local("locked", locked=True)
    relationships.follow(alice, locked)
    with record_hooks(fedikit_app) as hooks:
        relationships.reject(locked, alice)
    assert count(FollowRequest) == 0 and count(Follow) == 0
    assert (fresh(alice).following_count, fresh(locked).followers_count) == (0, 0)
    assert [call.kwargs for call in hooks.of("follow_rejected")] == [{"follower": alice, "target": locked}]
    assert not hooks.called("follow_accepted")
    with pytest.raises(ValidationError):
        relationships.reject(locked, alice)


def test_following_a_remote_account_is_a_request(fedikit_app: Flask, alice: Account) -> None:
    bob = remote("bob")
    with record_hooks(fedikit_app) as hooks:
        request = relationships.follow(alice, bob)
    assert isinstance(request, FollowRequest)
    assert count(Follow) == 0
    assert fresh(alice).following_count == 0
    assert [call.kwargs for call in hooks.of("follow_requested")] == [{"follower": alice, "target": bob}]
    relationships.authorize(bob, alice)  # the remote server's Accept, as a protocol plugin delivers it
    assert fresh(alice).following_count == 1


def test_self_follow_is_not_found(alice: Account) -> None:
    with pytest.raises(NotFound):
        relationships.follow(alice, alice)
    assert count(Follow) == 0 and count(FollowRequest) == 0


@pytest.mark.parametrize("direction", ["follower blocks", "target blocks"])
def test_follow_is_forbidden_when_blocked_either_way(
    fedikit_app: Flask, alice: Account, bob: Account, direction: str
) -> None:
    if direction == "follower blocks":
        relationships.block(alice, bob)
    else:
        relationships.block(bob, alice)
    with record_hooks(fedikit_app) as hooks, pytest.raises(Forbidden):
        relationships.follow(alice, bob)
    assert count(Follow) == 0 and count(FollowRequest) == 0
    assert notifications(bob, "follow") == []
    assert not hooks.called("follow_accepted") and not hooks.called("follow_requested")


def test_unfollow(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    relationships.follow(alice, bob)
    with record_hooks(fedikit_app) as hooks:
        assert relationships.unfollow(alice, bob) is True
    assert count(Follow) == 0
    assert (fresh(alice).following_count, fresh(bob).followers_count) == (0, 0)
    assert [call.kwargs for call in hooks.of("unfollowed")] == [{"follower": alice, "target": bob}]
    with record_hooks(fedikit_app) as hooks:
        assert relationships.unfollow(alice, bob) is False
    assert not hooks.called("unfollowed")
    assert fresh(bob).followers_count == 0


def test_unfollow_withdraws_a_pending_request(fedikit_app: Flask, alice: Account) -> None:
    locked = local("locked", locked=True)
    relationships.follow(alice, locked)
    with record_hooks(fedikit_app) as hooks:
        assert relationships.unfollow(alice, locked) is True
    assert count(FollowRequest) == 0
    assert (fresh(alice).following_count, fresh(locked).followers_count) == (0, 0)
    assert [call.kwargs for call in hooks.of("unfollowed")] == [{"follower": alice, "target": locked}]


# ---------------------------------------------------------------- favourite


def test_favourite_is_idempotent(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    status = statuses.post(bob, "like me")
    with record_hooks(fedikit_app) as hooks:
        first = statuses.favourite(alice, status)
        again = statuses.favourite(alice, status)
    assert first.id == again.id
    assert count(Favourite) == 1
    assert fresh(status).favourites_count == 1
    assert [(n.type, n.from_account_id, n.status_id) for n in notifications(bob)] == [
        ("favourite", alice.id, status.id)
    ]
    assert [call.kwargs for call in hooks.of("favourited")] == [{"account": alice, "status": status}]


def test_favourite_own_status_does_not_notify(alice: Account) -> None:
    status = statuses.post(alice, "self love")
    statuses.favourite(alice, status)
    assert fresh(status).favourites_count == 1
    assert notifications(alice) == []


def test_favourite_of_an_invisible_status_is_not_found(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    carol = local("carol")
    secret = statuses.post(bob, "@carol only", visibility="direct")
    followers_only = statuses.post(bob, "followers", visibility="private")
    with record_hooks(fedikit_app) as hooks:
        for status in (secret, followers_only):
            with pytest.raises(NotFound):
                statuses.favourite(alice, status)
    assert count(Favourite) == 0
    assert fresh(secret).favourites_count == 0
    assert not hooks.called("favourited")
    statuses.favourite(carol, secret)  # mentioned: may see it, may favourite it
    assert fresh(secret).favourites_count == 1


def test_unfavourite(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    status = statuses.post(bob, "like me")
    statuses.favourite(alice, status)
    with record_hooks(fedikit_app) as hooks:
        assert statuses.unfavourite(alice, status) is True
        assert statuses.unfavourite(alice, status) is False
    assert count(Favourite) == 0
    assert fresh(status).favourites_count == 0
    assert [call.kwargs for call in hooks.of("unfavourited")] == [{"account": alice, "status": status}]


# ---------------------------------------------------------------- reblog


def test_reblog_is_idempotent(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    status = statuses.post(bob, "boost me")
    with record_hooks(fedikit_app) as hooks:
        boost = statuses.reblog(alice, status)
        again = statuses.reblog(alice, status)
        via_boost = statuses.reblog(alice, boost)  # boosting a boost boosts the original
    assert boost.id == again.id == via_boost.id
    assert (boost.reblog_of_id, boost.account_id, boost.visibility) == (status.id, alice.id, "public")
    assert fresh(status).reblogs_count == 1
    assert fresh(alice).statuses_count == 1
    assert [(n.type, n.from_account_id) for n in notifications(bob)] == [("reblog", alice.id)]
    assert [call.kwargs for call in hooks.of("reblogged")] == [{"reblog": boost}]
    assert not hooks.called("status_created")


@pytest.mark.parametrize("visibility", ["private", "direct"])
def test_reblog_of_others_private_or_direct_is_forbidden(
    fedikit_app: Flask, alice: Account, bob: Account, visibility: str
) -> None:
    relationships.follow(alice, bob)
    status = statuses.post(bob, "@alice not for boosting", visibility=visibility)
    with record_hooks(fedikit_app) as hooks, pytest.raises(Forbidden):
        statuses.reblog(alice, status)
    assert fresh(status).reblogs_count == 0
    assert count(Status, Status.reblog_of_id == status.id) == 0
    assert not hooks.called("reblogged")


def test_reblog_of_an_invisible_status_is_not_found(alice: Account, bob: Account) -> None:
    status = statuses.post(bob, "followers only", visibility="private")
    with pytest.raises(NotFound):
        statuses.reblog(alice, status)


def test_reblog_of_unlisted_is_allowed(alice: Account, bob: Account) -> None:
    status = statuses.post(bob, "quietly", visibility="unlisted")
    assert statuses.reblog(alice, status).reblog_of_id == status.id


def test_own_private_status_can_be_reblogged_and_stays_private(alice: Account) -> None:
    status = statuses.post(alice, "for my followers", visibility="private")
    boost = statuses.reblog(alice, status, visibility="public")
    assert boost.visibility == "private"
    assert fresh(status).reblogs_count == 1
    assert notifications(alice) == []


def test_own_direct_status_cannot_be_reblogged(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "@bob psst", visibility="direct")
    with pytest.raises(Forbidden):
        statuses.reblog(alice, status)


def test_unreblog(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    status = statuses.post(bob, "boost me")
    boost = statuses.reblog(alice, status)
    boost_id = boost.id
    with record_hooks(fedikit_app) as hooks:
        removed = statuses.unreblog(alice, status)
        assert statuses.unreblog(alice, status) is None
    assert removed is not None and removed.id == boost_id
    assert db.session.get(Status, boost_id) is None
    assert fresh(status).reblogs_count == 0
    assert fresh(alice).statuses_count == 0
    assert [call.kwargs for call in hooks.of("unreblogged")] == [{"reblog": removed}]
    assert not hooks.called("status_deleted")


# ---------------------------------------------------------------- block


def test_block_ends_follows_both_ways_and_fixes_counters(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    carol = local("carol")
    relationships.follow(alice, bob)
    relationships.follow(bob, alice)
    relationships.follow(carol, alice)
    with record_hooks(fedikit_app) as hooks:
        relation = relationships.block(alice, bob)
    assert isinstance(relation, Block)
    assert (
        count(Follow, Follow.account_id.in_([alice.id, bob.id]), Follow.target_account_id.in_([alice.id, bob.id])) == 0
    )
    assert (fresh(alice).following_count, fresh(alice).followers_count) == (0, 1)  # carol still follows
    assert (fresh(bob).following_count, fresh(bob).followers_count) == (0, 0)
    assert [call.kwargs for call in hooks.of("blocked")] == [{"account": alice, "target": bob}]
    assert not hooks.called("unfollowed")


def test_block_removes_pending_requests(alice: Account) -> None:
    locked = local("locked", locked=True)
    relationships.follow(alice, locked)
    relationships.block(locked, alice)
    assert count(FollowRequest) == 0
    assert (fresh(alice).following_count, fresh(locked).followers_count) == (0, 0)


def test_block_is_idempotent_and_unblock(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    first = relationships.block(alice, bob)
    with record_hooks(fedikit_app) as hooks:
        again = relationships.block(alice, bob)
        assert relationships.unblock(alice, bob) is True
        assert relationships.unblock(alice, bob) is False
    assert first.id == again.id
    assert not hooks.called("blocked")
    assert [call.kwargs for call in hooks.of("unblocked")] == [{"account": alice, "target": bob}]
    assert count(Block) == 0
    assert isinstance(relationships.follow(alice, bob), Follow)


def test_self_block_does_nothing(alice: Account) -> None:
    assert relationships.block(alice, alice) is None
    assert count(Block) == 0


def test_blocked_account_cannot_notify_the_blocker(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "public")
    relationships.block(alice, bob)
    statuses.post(bob, "hey @alice")
    assert notifications(alice) == []
    with pytest.raises(NotFound):
        statuses.favourite(bob, status)  # the author blocks bob: he no longer sees it


# ---------------------------------------------------------------- mute


def test_mute_with_duration(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    before = utcnow()
    with record_hooks(fedikit_app) as hooks:
        relation = relationships.mute(alice, bob, duration=3600, notifications=False)
    assert relation.hide_notifications is False
    assert before + dt.timedelta(seconds=3590) < relation.expires_at < utcnow() + dt.timedelta(seconds=3610)
    assert [call.kwargs for call in hooks.of("muted")] == [{"account": alice, "target": bob}]
    again = relationships.mute(alice, bob)  # muting again updates: for ever, notifications hidden
    assert again.id == relation.id
    assert (again.expires_at, again.hide_notifications) == (None, True)
    assert count(Mute) == 1


def test_mute_hides_notifications(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "hello")
    relationships.mute(alice, bob)
    statuses.favourite(bob, status)
    assert notifications(alice) == []


def test_expired_mute_no_longer_hides_notifications(alice: Account, bob: Account) -> None:
    status = statuses.post(alice, "hello")
    mute = relationships.mute(alice, bob, duration=60)
    mute.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.session.commit()
    statuses.favourite(bob, status)
    assert [n.type for n in notifications(alice)] == ["favourite"]


def test_unmute(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    relationships.mute(alice, bob)
    with record_hooks(fedikit_app) as hooks:
        assert relationships.unmute(alice, bob) is True
        assert relationships.unmute(alice, bob) is False
    assert count(Mute) == 0
    assert [call.kwargs for call in hooks.of("unmuted")] == [{"account": alice, "target": bob}]


def test_self_mute_does_nothing(alice: Account) -> None:
    assert relationships.mute(alice, alice) is None
    assert count(Mute) == 0


# ---------------------------------------------------------------- accounts


def test_update_profile_fires_account_updated(fedikit_app: Flask, alice: Account) -> None:
    with record_hooks(fedikit_app) as hooks:
        accounts.update_profile(alice, display_name="Alice", locked=True)
    assert (fresh(alice).display_name, alice.locked) == ("Alice", True)
    assert [call.kwargs for call in hooks.of("account_updated")] == [{"account": alice}]


# ---------------------------------------------------------------- events: each fires once, failures isolated

EVENTS = (
    "status_created",
    "status_updated",
    "status_deleted",
    "follow_requested",
    "follow_accepted",
    "follow_rejected",
    "unfollowed",
    "favourited",
    "unfavourited",
    "reblogged",
    "unreblogged",
    "blocked",
    "unblocked",
    "muted",
    "unmuted",
    "account_updated",
)


def test_a_session_of_actions_fires_each_event_once(fedikit_app: Flask, alice: Account, bob: Account) -> None:
    locked = local("locked", locked=True)
    with record_hooks(fedikit_app) as hooks:
        status = statuses.post(alice, "hello")
        statuses.edit(alice, status, "hello, edited")
        statuses.favourite(bob, status)
        statuses.unfavourite(bob, status)
        statuses.reblog(bob, status)
        statuses.unreblog(bob, status)
        relationships.follow(bob, locked)
        relationships.reject(locked, bob)
        relationships.follow(alice, bob)
        relationships.unfollow(alice, bob)
        relationships.mute(alice, bob)
        relationships.unmute(alice, bob)
        relationships.block(alice, bob)
        relationships.unblock(alice, bob)
        accounts.update_profile(alice, display_name="A")
        statuses.delete(alice, status)
    fired = [name for name in hooks.names() if name in EVENTS]
    assert sorted(fired) == sorted(EVENTS)


class Exploding:
    """A plugin whose every event handler raises."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl
    def status_created(self, status: Any) -> None:
        self.calls.append("status_created")
        raise RuntimeError("boom")

    @hookimpl
    def follow_accepted(self, follower: Any, target: Any) -> None:
        self.calls.append("follow_accepted")
        raise RuntimeError("boom")

    @hookimpl
    def status_deleted(self, status: Any) -> None:
        self.calls.append("status_deleted")
        raise RuntimeError("boom")


class Counting:
    def __init__(self) -> None:
        self.calls: list[str] = []

    @hookimpl(trylast=True)
    def status_created(self, status: Any) -> None:
        self.calls.append("status_created")

    @hookimpl(trylast=True)
    def follow_accepted(self, follower: Any, target: Any) -> None:
        self.calls.append("follow_accepted")


def test_a_failing_plugin_neither_stops_others_nor_undoes_the_change(
    fedikit_app: Flask, alice: Account, bob: Account
) -> None:
    exploding, counting = Exploding(), Counting()
    with (
        register_plugin(fedikit_app, exploding, name="exploding"),
        register_plugin(fedikit_app, counting, name="counting"),
        record_hooks(fedikit_app) as hooks,
    ):
        status = statuses.post(alice, "still posted")
        relation = relationships.follow(alice, bob)
        removed = statuses.delete(alice, statuses.post(alice, "deleted anyway"))
    db.session.expire_all()
    assert db.session.get(Status, status.id) is not None
    assert db.session.get(Follow, relation.id) is not None
    assert db.session.get(Status, removed.id) is None
    assert fresh(bob).followers_count == 1
    assert exploding.calls == ["status_created", "follow_accepted", "status_created", "status_deleted"]
    assert counting.calls == ["status_created", "follow_accepted", "status_created"]
    assert len(hooks.of("status_created")) == 2
    assert len(hooks.of("follow_accepted")) == 1
    assert len(hooks.of("status_deleted")) == 1


def test_bad_language_and_overlong_hashtags(fedikit_app: Any) -> None:
    from fedikit.core.errors import ValidationError
    from fedikit.core.services import accounts as account_service

    author = account_service.create_local_account("lang", "lang@example.com", "correct horse battery").account
    with pytest.raises(ValidationError, match="is not a language code"):
        statuses.post(author, "hello", language="x" * 40)
    status = statuses.post(author, "#" + "a" * 300 + " and #short", language="en-GB")
    assert [t.name for t in status.tags] == ["short"]
    assert status.language == "en-GB"


def test_deleting_a_self_boosted_status_fixes_the_count(fedikit_app: Any) -> None:
    from fedikit.core.services import accounts as account_service

    author = account_service.create_local_account("selfie", "selfie@example.com", "correct horse battery").account
    status = statuses.post(author, "boosting myself")
    statuses.reblog(author, status)
    assert author.statuses_count == 2
    statuses.delete(author, status)
    assert author.statuses_count == 0


@pytest.mark.usefixtures("fedikit_app")
def test_domain_blocks_apply_at_once_here_and_within_max_age_when_written_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fedikit.core.models import DomainBlock
    from fedikit.core.services import domain_blocks

    assert domain_blocks.policy("social.spam.example") == domain_blocks.NO_BLOCK
    domain_blocks.block("spam.example", severity="suspend")  # through this process: applies at once
    assert domain_blocks.policy("social.spam.example").suspended
    assert domain_blocks.policy("Spam.Example:8443").suspended
    assert domain_blocks.policy("example") == domain_blocks.NO_BLOCK

    # Written by another process (a web node, a worker, the CLI): this process still uses its copy...
    db.session.add(DomainBlock(domain="other.example", severity="silence", reject_media=True))
    db.session.commit()
    assert domain_blocks.policy("other.example") == domain_blocks.NO_BLOCK
    # ... until it is MAX_AGE old
    monkeypatch.setattr(domain_blocks, "MAX_AGE", 0.0)
    assert domain_blocks.policy("other.example") == domain_blocks.Policy("silence", reject_media=True)
    assert domain_blocks.unblock("spam.example")
    assert domain_blocks.policy("social.spam.example") == domain_blocks.NO_BLOCK
