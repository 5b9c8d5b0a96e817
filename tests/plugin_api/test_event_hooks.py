"""Domain events: each fires once, after its change is committed, with the documented arguments."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from fedikit.core.db import db
from fedikit.core.models import Account, Follow, Status
from fedikit.core.services import accounts, relationships, statuses
from fedikit.plugin_api import hookimpl
from fedikit.plugin_api.testing import record_hooks, register_plugin


@pytest.fixture
def fedikit_config() -> dict[str, Any]:
    return {}


@pytest.fixture
def people(fedikit_app: Any) -> tuple[Account, Account]:
    def make(username: str) -> Account:
        return accounts.create_local_account(username, f"{username}@example.com", "correct horse battery").account

    return make("alice"), make("bob")


def only(recorder: Any, event: str) -> dict[str, Any]:
    calls = recorder.of(event)
    assert len(calls) == 1, f"{event} fired {len(calls)} times"
    return calls[0].kwargs


def test_hook_status_created(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, _ = people

    class Checker:
        seen: list[int] = []

        @hookimpl
        def status_created(self, status: Any) -> None:
            # fired after commit: a fresh session finds the row
            self.seen.append(db.session.get(Status, status.id).id)

    checker = Checker()
    with register_plugin(fedikit_app, checker), record_hooks(fedikit_app) as recorder:
        status = statuses.post(alice, "hello")
    assert only(recorder, "status_created")["status"].id == status.id
    assert checker.seen == [status.id]
    assert only(recorder, "status_created")["status"].local


def test_hook_status_updated(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, _ = people
    status = statuses.post(alice, "helo")
    with record_hooks(fedikit_app) as recorder:
        statuses.edit(alice, status, "hello")
    updated = only(recorder, "status_updated")["status"]
    assert (updated.id, updated.text) == (status.id, "hello") and updated.edited_at is not None


def test_hook_status_deleted(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, _ = people
    status = statuses.post(alice, "soon gone")
    status_id = status.id
    with record_hooks(fedikit_app) as recorder:
        statuses.delete(alice, status)
    deleted = only(recorder, "status_deleted")["status"]
    assert (deleted.id, deleted.text, deleted.account.username) == (status_id, "soon gone", "alice")
    assert db.session.get(Status, status_id) is None


def test_hook_follow_requested(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    accounts.update_profile(bob, locked=True)
    with record_hooks(fedikit_app) as recorder:
        relationships.follow(alice, bob)
    kwargs = only(recorder, "follow_requested")
    assert (kwargs["follower"].id, kwargs["target"].id) == (alice.id, bob.id)
    assert not recorder.called("follow_accepted")


def test_hook_follow_accepted(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    with record_hooks(fedikit_app) as recorder:
        relationships.follow(alice, bob)
    kwargs = only(recorder, "follow_accepted")
    assert (kwargs["follower"].id, kwargs["target"].id) == (alice.id, bob.id)
    accounts.update_profile(alice, locked=True)
    relationships.follow(bob, alice)
    with record_hooks(fedikit_app) as recorder:
        relationships.authorize(alice, bob)
    kwargs = only(recorder, "follow_accepted")
    assert (kwargs["follower"].id, kwargs["target"].id) == (bob.id, alice.id)


def test_hook_follow_rejected(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    accounts.update_profile(bob, locked=True)
    relationships.follow(alice, bob)
    with record_hooks(fedikit_app) as recorder:
        relationships.reject(bob, alice)
    kwargs = only(recorder, "follow_rejected")
    assert (kwargs["follower"].id, kwargs["target"].id) == (alice.id, bob.id)


def test_hook_unfollowed(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    relationships.follow(alice, bob)
    with record_hooks(fedikit_app) as recorder:
        assert relationships.unfollow(alice, bob)
        assert not relationships.unfollow(alice, bob)  # nothing left to undo: no second event
    kwargs = only(recorder, "unfollowed")
    assert (kwargs["follower"].id, kwargs["target"].id) == (alice.id, bob.id)


def test_hook_favourited(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    status = statuses.post(bob, "like me")
    with record_hooks(fedikit_app) as recorder:
        statuses.favourite(alice, status)
        statuses.favourite(alice, status)  # a repeat changes nothing and fires nothing
    kwargs = only(recorder, "favourited")
    assert (kwargs["account"].id, kwargs["status"].id) == (alice.id, status.id)


def test_hook_unfavourited(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    status = statuses.post(bob, "like me")
    statuses.favourite(alice, status)
    with record_hooks(fedikit_app) as recorder:
        statuses.unfavourite(alice, status)
    kwargs = only(recorder, "unfavourited")
    assert (kwargs["account"].id, kwargs["status"].id) == (alice.id, status.id)


def test_hook_reblogged(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    status = statuses.post(bob, "boost me")
    with record_hooks(fedikit_app) as recorder:
        boost = statuses.reblog(alice, status)
    reblog = only(recorder, "reblogged")["reblog"]
    assert (reblog.id, reblog.reblog_of_id, reblog.reblog.id) == (boost.id, status.id, status.id)
    assert not recorder.called("status_created")


def test_hook_unreblogged(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    status = statuses.post(bob, "boost me")
    boost_id = statuses.reblog(alice, status).id
    with record_hooks(fedikit_app) as recorder:
        statuses.unreblog(alice, status)
    assert only(recorder, "unreblogged")["reblog"].id == boost_id
    assert not recorder.called("status_deleted")


def test_hook_blocked(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    relationships.follow(alice, bob)
    with record_hooks(fedikit_app) as recorder:
        relationships.block(bob, alice)
    kwargs = only(recorder, "blocked")
    assert (kwargs["account"].id, kwargs["target"].id) == (bob.id, alice.id)
    assert db.session.query(Follow).count() == 0


def test_hook_unblocked(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    relationships.block(alice, bob)
    with record_hooks(fedikit_app) as recorder:
        relationships.unblock(alice, bob)
    kwargs = only(recorder, "unblocked")
    assert (kwargs["account"].id, kwargs["target"].id) == (alice.id, bob.id)


def test_hook_muted(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    with record_hooks(fedikit_app) as recorder:
        relationships.mute(alice, bob, notifications=False, duration=3600)
    kwargs = only(recorder, "muted")
    assert (kwargs["account"].id, kwargs["target"].id) == (alice.id, bob.id)


def test_hook_unmuted(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    relationships.mute(alice, bob)
    with record_hooks(fedikit_app) as recorder:
        relationships.unmute(alice, bob)
    kwargs = only(recorder, "unmuted")
    assert (kwargs["account"].id, kwargs["target"].id) == (alice.id, bob.id)


def test_hook_account_updated(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, _ = people
    with record_hooks(fedikit_app) as recorder:
        accounts.update_profile(alice, display_name="Alice", note="Hi, I'm #new here")
    account = only(recorder, "account_updated")["account"]
    assert account.display_name == "Alice"
    assert 'class="mention hashtag"' in account.note


def test_failing_plugin_does_not_stop_others_or_undo_the_change(
    fedikit_app: Any, people: tuple[Account, Account], caplog: pytest.LogCaptureFixture
) -> None:
    alice, _ = people

    class Broken:
        @hookimpl
        def status_created(self, status: Any) -> None:
            raise RuntimeError("plugin bug")

    with register_plugin(fedikit_app, Broken(), name="broken"), record_hooks(fedikit_app) as recorder:
        status = statuses.post(alice, "still posted")
    assert recorder.called("status_created")
    assert db.session.get(Status, status.id) is not None
    assert "plugin 'broken' failed handling status_created" in caplog.text


def test_hook_pinned(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, _ = people
    status = statuses.post(alice, "my best")
    with record_hooks(fedikit_app) as recorder:
        statuses.pin(alice, status)
        statuses.pin(alice, status)  # a repeat fires nothing
    kwargs = only(recorder, "pinned")
    assert (kwargs["account"].id, kwargs["status"].id) == (alice.id, status.id)


def test_hook_unpinned(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, _ = people
    status = statuses.post(alice, "my best")
    statuses.pin(alice, status)
    with record_hooks(fedikit_app) as recorder:
        statuses.unpin(alice, status)
        statuses.unpin(alice, status)  # nothing left to unpin: no second event
    kwargs = only(recorder, "unpinned")
    assert (kwargs["account"].id, kwargs["status"].id) == (alice.id, status.id)


def test_hook_poll_voted(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    from fedikit.core.services import polls

    alice, bob = people
    status = statuses.post(bob, "tea or coffee?", poll=polls.spec(["tea", "coffee"], 3600, multiple=True))
    with record_hooks(fedikit_app) as recorder:
        polls.vote(alice, polls.for_status(status.id), ["1", "0"])
    kwargs = only(recorder, "poll_voted")
    assert (kwargs["account"].id, kwargs["status"].id, kwargs["choices"]) == (alice.id, status.id, [1, 0])


def test_hook_reported(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    from fedikit.core.services import reports

    alice, bob = people
    status = statuses.post(bob, "rude")
    with record_hooks(fedikit_app) as recorder:
        report = reports.file(alice, bob, status_ids=[status.id], comment="look", forward=True)
    kwargs = only(recorder, "reported")
    assert (kwargs["report"].id, kwargs["target"].id) == (report.id, bob.id)
    assert [s.id for s in kwargs["statuses"]] == [status.id]
    assert kwargs["report"].forwarded is False  # bob is local: there is no other server to tell


def test_hook_account_moved(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    carol = accounts.create_local_account("carol", "carol@example.com", "correct horse battery").account
    relationships.follow(carol, alice)
    accounts.add_alias(bob, alice)
    with record_hooks(fedikit_app) as recorder:
        accounts.move(alice, bob)
    kwargs = only(recorder, "account_moved")
    assert (kwargs["account"].id, kwargs["target"].id) == (alice.id, bob.id)
    assert db.session.get(Account, alice.id).moved_to_account_id == bob.id
    follows = db.session.scalars(select(Follow.target_account_id).where(Follow.account_id == carol.id)).all()
    assert follows == [bob.id]  # carol followed alice: she follows bob now


def test_a_move_needs_the_target_to_name_the_account(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    from fedikit.core.errors import ValidationError

    alice, bob = people
    with record_hooks(fedikit_app) as recorder, pytest.raises(ValidationError, match="alias"):
        accounts.move(alice, bob)
    assert not recorder.called("account_moved")
    assert db.session.get(Account, alice.id).moved_to_account_id is None


def test_hook_account_deleted(fedikit_app: Any, people: tuple[Account, Account]) -> None:
    alice, bob = people
    relationships.follow(bob, alice)
    statuses.post(alice, "soon gone")
    seen: list[int] = []

    class Checker:
        @hookimpl
        def account_deleted(self, account: Any) -> None:
            # fired before the follows are removed: the followers can still be found
            seen.extend(db.session.scalars(select(Follow.account_id).where(Follow.target_account_id == account.id)))

    with register_plugin(fedikit_app, Checker()), record_hooks(fedikit_app) as recorder:
        accounts.delete_local(alice)
    assert only(recorder, "account_deleted")["account"].id == alice.id
    assert seen == [bob.id]
    gone = db.session.get(Account, alice.id)
    assert gone.suspended_at is not None and gone.user is None and gone.statuses_count == 0
    assert db.session.scalars(select(Follow)).all() == []
    assert accounts.find_user("alice") is None


def test_a_job_out_of_time_in_a_plugin_is_not_taken_for_the_plugins_failure(
    fedikit_app: Any, people: tuple[Account, Account]
) -> None:
    """A queue raises JobTimeout wherever the job is: inside a plugin's hook, it ends the job (which the queue
    retries, or which queues what is left) instead of being logged as the plugin's bug and run past."""
    from fedikit.plugin_api import JobTimeout

    alice, _ = people

    class Slow:
        @hookimpl
        def status_created(self, status: Any) -> None:
            raise JobTimeout("the job's time is up")

    with register_plugin(fedikit_app, Slow(), name="slow"), pytest.raises(JobTimeout):
        statuses.post(alice, "posted as the time ran out")
