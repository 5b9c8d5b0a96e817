"""Conformance suites: one per backend Protocol. Every backend implementation runs its suite.

Subclass the suite in a test module and override ``fedikit_config`` so that
the app chooses your backend; every test then runs against it::

    from fedikit.plugin_api.conformance import FeedStoreConformance

    class TestMyFeeds(FeedStoreConformance):
        @pytest.fixture
        def fedikit_config(self):
            return {"FEEDS_BACKEND": "mine"}

The suites test through fedikit's services where the behaviour is
end-to-end (a post reaching a follower's home feed), and call the backend
directly where the Protocol is the contract (a media key round trip).
"""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
from flask import Flask

from fedikit.plugin_api.errors import BackendError, NotFound
from fedikit.plugin_api.markers import hookimpl
from fedikit.plugin_api.testing import settle
from fedikit.plugin_api.types import Cache, FeedStore, Job, JobQueue, MediaStore, PubSub, SearchIndex, batch_job

REPLIES_POLICIES = ("followed", "list", "none")  # a list's replies_policy, as Mastodon names them
HOSTILE_QUERIES = (  # query syntax of FTS5, tsquery, Lucene and SQL, and odd text
    *('"', "'", "*", "some*", ":*", "col:val", "a OR b", "a | b & !c", "-x", "NEAR(", "NEAR(a b)", "(", ")"),
    *("<->", "\\", "\x00", "'; DROP TABLE x; --", "   ", "日本語", "e\u0301", "\U0001f600", "x" * 1000),
)


def _state(app: Flask) -> Any:
    return app.extensions["fedikit"]


def _account(username: str, *, locked: bool = False) -> Any:
    from fedikit.core.services.accounts import create_local_account, update_profile

    account = create_local_account(username, f"{username}@example.com", "correct horse battery").account
    if locked:
        update_profile(account, locked=True)
    return account


class FeedStoreConformance:
    """Home and list feeds, as a follower sees them."""

    def _home(self, app: Flask, viewer: Any, **page: Any) -> list[int]:
        from fedikit.core.services import timelines

        settle(app)
        return [s.id for s in timelines.home(viewer, **page)]

    def test_implements_protocol(self, fedikit_app: Flask) -> None:
        assert isinstance(_state(fedikit_app).feeds, FeedStore)

    def test_home_has_own_and_followed_statuses_newest_first(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob, carol = _account("alice"), _account("bob"), _account("carol")
        relationships.follow(alice, bob)
        first = statuses.post(bob, "first")
        statuses.post(carol, "not followed")
        own = statuses.post(alice, "mine")
        second = statuses.post(bob, "second")
        assert self._home(fedikit_app, alice) == [second.id, own.id, first.id]

    def test_pagination(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob = _account("alice"), _account("bob")
        relationships.follow(alice, bob)
        ids = [statuses.post(bob, f"post {n}").id for n in range(6)]
        newest_first = list(reversed(ids))
        assert self._home(fedikit_app, alice, limit=2) == newest_first[:2]
        assert self._home(fedikit_app, alice, max_id=newest_first[1], limit=2) == newest_first[2:4]
        assert self._home(fedikit_app, alice, since_id=ids[3]) == newest_first[:2]
        assert self._home(fedikit_app, alice, min_id=ids[1], limit=2) == [ids[3], ids[2]]

    def test_followers_only_reaches_followers_not_others(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob, eve = _account("alice"), _account("bob"), _account("eve")
        relationships.follow(alice, bob)
        private = statuses.post(bob, "for followers", visibility="private")
        assert private.id in self._home(fedikit_app, alice)
        assert private.id not in self._home(fedikit_app, eve)

    def test_pending_follow_request_sees_nothing_private(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, locked = _account("alice"), _account("locked", locked=True)
        relationships.follow(alice, locked)
        private = statuses.post(locked, "followers only", visibility="private")
        assert private.id not in self._home(fedikit_app, alice)
        relationships.authorize(locked, alice)
        later = statuses.post(locked, "after approval", visibility="private")
        assert later.id in self._home(fedikit_app, alice)

    def test_deleted_status_leaves_feeds(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob = _account("alice"), _account("bob")
        relationships.follow(alice, bob)
        status = statuses.post(bob, "soon gone")
        assert status.id in self._home(fedikit_app, alice)
        statuses.delete(bob, status)
        assert status.id not in self._home(fedikit_app, alice)

    def test_unfollow_removes_their_statuses(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob = _account("alice"), _account("bob")
        relationships.follow(alice, bob)
        status = statuses.post(bob, "hello")
        assert status.id in self._home(fedikit_app, alice)
        relationships.unfollow(alice, bob)
        assert status.id not in self._home(fedikit_app, alice)

    def test_blocked_account_leaves_home(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob = _account("alice"), _account("bob")
        relationships.follow(alice, bob)
        status = statuses.post(bob, "hello")
        relationships.block(alice, bob)
        assert status.id not in self._home(fedikit_app, alice)

    def test_boosts_respect_show_reblogs(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob, carol = _account("alice"), _account("bob"), _account("carol")
        relationships.follow(alice, bob, reblogs=False)
        boost = statuses.reblog(bob, statuses.post(carol, "boost me"))
        assert boost.id not in self._home(fedikit_app, alice)
        relationships.follow(alice, bob, reblogs=True)
        again = statuses.reblog(bob, statuses.post(carol, "and me"))
        assert again.id in self._home(fedikit_app, alice)

    def test_mentions_and_own_boosts_stay_out_of_home(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import relationships, statuses

        alice, bob, carol = _account("alice"), _account("bob"), _account("carol")
        mention = statuses.post(carol, "hey @alice")  # alice does not follow carol: a notification, not home
        relationships.follow(alice, bob)
        boost_of_own = statuses.reblog(bob, statuses.post(alice, "mine"))
        home = self._home(fedikit_app, alice)
        assert mention.id not in home
        assert boost_of_own.id not in home

    def test_replies_reach_home_only_when_they_answer_someone_followed(self, fedikit_app: Flask) -> None:
        """As Mastodon: a followed account's reply to a stranger stays out; threads and replies to you come in."""
        from fedikit.core.services import relationships, statuses

        alice, bob, carol, erin = (_account(name) for name in ("alice", "bob", "carol", "erin"))
        relationships.follow(alice, bob)
        relationships.follow(alice, carol)
        relationships.follow(erin, bob)
        to = {who.username: statuses.post(who, "hello") for who in (alice, bob, carol, erin)}
        thread = statuses.post(bob, "more", in_reply_to=to["bob"])
        to_owner = statuses.post(bob, "hi alice", in_reply_to=to["alice"])
        to_followed = statuses.post(bob, "hi carol", in_reply_to=to["carol"])
        to_stranger = statuses.post(bob, "hi erin", in_reply_to=to["erin"])
        own_reply = statuses.post(alice, "hi erin", in_reply_to=to["erin"])
        home = set(self._home(fedikit_app, alice))
        assert {thread.id, to_owner.id, to_followed.id, own_reply.id} <= home
        assert to_stranger.id not in home
        assert to_stranger.id in set(self._home(fedikit_app, erin))  # for erin it is a reply to her

    def test_followed_hashtags_bring_public_statuses_home(self, fedikit_app: Flask) -> None:
        from fedikit.core.services import statuses, tags

        alice, bob = _account("alice"), _account("bob")
        tags.follow(alice, tags.find_or_create("Gardening"))
        public = statuses.post(bob, "my #gardening tips")
        private = statuses.post(bob, "secret #gardening", visibility="private")
        unlisted = statuses.post(bob, "quiet #gardening", visibility="unlisted")
        home = self._home(fedikit_app, alice)
        assert public.id in home
        assert private.id not in home and unlisted.id not in home

    def test_list_feed_has_members_statuses(self, fedikit_app: Flask) -> None:
        from fedikit.core.db import db
        from fedikit.core.models import List, ListAccount
        from fedikit.core.services import relationships, statuses, timelines

        alice, bob, carol = _account("alice"), _account("bob"), _account("carol")
        relationships.follow(alice, bob)
        relationships.follow(alice, carol)
        feed_list = List(account_id=alice.id, title="friends")
        db.session.add(feed_list)
        db.session.flush()
        db.session.add(ListAccount(list_id=feed_list.id, account_id=bob.id))
        db.session.commit()
        in_list = statuses.post(bob, "in the list")
        statuses.post(carol, "not in the list")
        settle(fedikit_app)
        assert [s.id for s in timelines.list_timeline(alice, feed_list.id)] == [in_list.id]

    def test_exclusive_list_members_go_to_the_list_not_home(self, fedikit_app: Flask) -> None:
        from fedikit.core.db import db
        from fedikit.core.models import List, ListAccount
        from fedikit.core.services import relationships, statuses, timelines

        alice, bob = _account("alice"), _account("bob")
        relationships.follow(alice, bob)
        exclusive = List(account_id=alice.id, title="news", exclusive=True)
        db.session.add(exclusive)
        db.session.flush()
        db.session.add(ListAccount(list_id=exclusive.id, account_id=bob.id))
        db.session.commit()
        status = statuses.post(bob, "breaking")
        assert status.id not in self._home(fedikit_app, alice)
        assert [s.id for s in timelines.list_timeline(alice, exclusive.id)] == [status.id]

    def test_list_replies_policy(self, fedikit_app: Flask) -> None:
        """``followed``: replies to anyone the owner follows; ``list``: to list members; ``none``: none.

        Whatever the policy, a list shows threads (replies to oneself) and replies to its owner.
        """
        from fedikit.core.db import db
        from fedikit.core.models import List, ListAccount
        from fedikit.core.services import relationships, statuses, timelines

        alice, bob, carol, dave, erin = (_account(name) for name in ("alice", "bob", "carol", "dave", "erin"))
        for followed in (bob, carol, dave):
            relationships.follow(alice, followed)
        lists = {policy: List(account_id=alice.id, title=policy, replies_policy=policy) for policy in REPLIES_POLICIES}
        db.session.add_all(lists.values())
        db.session.flush()
        db.session.add_all(ListAccount(list_id=made.id, account_id=bob.id) for made in lists.values())
        db.session.add(ListAccount(list_id=lists["list"].id, account_id=carol.id))
        db.session.commit()
        to = {who.username: statuses.post(who, "hello") for who in (alice, bob, carol, dave, erin)}
        posted = {
            "plain": statuses.post(bob, "no reply"),
            "thread": statuses.post(bob, "more", in_reply_to=to["bob"]),
            "to the owner": statuses.post(bob, "hi alice", in_reply_to=to["alice"]),
            "to a member": statuses.post(bob, "hi carol", in_reply_to=to["carol"]),
            "to a followed non-member": statuses.post(bob, "hi dave", in_reply_to=to["dave"]),
            "to a stranger": statuses.post(bob, "hi erin", in_reply_to=to["erin"]),
        }
        settle(fedikit_app)
        always = {"plain", "thread", "to the owner"}
        expected = {
            "followed": always | {"to a member", "to a followed non-member"},
            "list": always | {"to a member"},
            "none": always,
        }
        for policy, made in lists.items():
            shown = {s.id for s in timelines.list_timeline(alice, made.id)}
            wanted = {posted[name].id for name in expected[policy]} | {to["bob"].id}
            wanted |= {to["carol"].id} if policy == "list" else set()
            assert shown == wanted, policy

    def test_precomputed_store_primitives(self, fedikit_app: Flask) -> None:
        feeds = _state(fedikit_app).feeds
        if not feeds.precomputed:
            pytest.skip("computed on read: add/remove/clear do nothing by contract")
        feeds.clear("home:1")
        for status_id in (10, 30, 20):
            feeds.add(["home:1", "home:2"], status_id)
        assert feeds.ids("home:1") == [30, 20, 10]
        assert feeds.ids("home:1", max_id=30) == [20, 10]
        assert feeds.ids("home:1", min_id=10, limit=1) == [20]
        feeds.remove(["home:1"], 20)
        assert feeds.ids("home:1") == [30, 10]
        assert feeds.ids("home:2") == [30, 20, 10]
        feeds.clear("home:2")
        assert feeds.ids("home:2") == []


class _Jobs:
    """A plugin with jobs the queue suite runs."""

    name = "conformance_jobs"

    def __init__(self) -> None:
        self.runs: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.released = threading.Event()

    @hookimpl
    def register_jobs(self) -> dict[str, Any]:
        @batch_job(50)
        def batch(items: list[dict[str, Any]]) -> None:
            self.batch(items)

        return {
            "conformance.record": self.record,
            "conformance.flaky": self.flaky,
            "conformance.fail": self.fail,
            "conformance.hold": self.hold,
            "conformance.batch": batch,
        }

    def hold(self) -> None:
        """Keeps its worker busy until the test releases it (so that jobs queued meanwhile wait)."""
        self.released.wait(10)

    def batch(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.runs.append({"job": "batch", "values": [item["value"] for item in items]})
        if any(item.get("fail") for item in items):
            raise RuntimeError("a job of the batch fails")

    def record(self, **args: Any) -> None:
        with self.lock:
            self.runs.append({"job": "record", "at": time.monotonic(), **args})

    def flaky(self, key: str, failures: int) -> None:
        with self.lock:
            tries = sum(1 for r in self.runs if r.get("key") == key) + 1
            self.runs.append({"job": "flaky", "key": key, "try": tries})
        if tries <= failures:
            raise RuntimeError(f"failure {tries} of {failures}")

    def fail(self, key: str) -> None:
        with self.lock:
            self.runs.append({"job": "fail", "key": key})
        raise RuntimeError("always fails")


class JobQueueConformance:
    """Jobs run in the background, with their arguments, and are retried when they fail."""

    @pytest.fixture
    def fedikit_plugins(self) -> list[object]:
        return [_Jobs()]

    @pytest.fixture
    def job_plugin(self, fedikit_plugins: list[object]) -> _Jobs:
        return fedikit_plugins[0]  # type: ignore[return-value]

    def test_implements_protocol(self, fedikit_app: Flask) -> None:
        assert isinstance(_state(fedikit_app).queue, JobQueue)

    def test_runs_job_with_arguments(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        enqueue("conformance.record", value=42, text="héllo")
        settle(fedikit_app)
        assert [(r["value"], r["text"]) for r in job_plugin.runs] == [(42, "héllo")]

    def test_failing_job_is_retried_until_it_succeeds(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        enqueue("conformance.flaky", key="a", failures=2)
        settle(fedikit_app)
        assert [r["try"] for r in job_plugin.runs] == [1, 2, 3]

    def test_gives_up_after_max_attempts(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        enqueue("conformance.fail", key="b", max_attempts=3)
        settle(fedikit_app)
        assert len(job_plugin.runs) == 3

    def test_delay_is_respected(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        started = time.monotonic()
        enqueue("conformance.record", value=1, delay=0.3)
        settle(fedikit_app)
        assert job_plugin.runs and job_plugin.runs[0]["at"] - started >= 0.29

    def test_many_jobs_all_run(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        for n in range(50):
            enqueue("conformance.record", value=n)
        settle(fedikit_app)
        assert sorted(r["value"] for r in job_plugin.runs) == list(range(50))

    def test_arguments_must_be_json(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        with pytest.raises(TypeError, match="arguments must be JSON values"):
            enqueue("conformance.record", value=object())
        enqueue("conformance.record", value=(1, 2))  # a tuple arrives as a JSON array would
        settle(fedikit_app)
        assert job_plugin.runs[0]["value"] == [1, 2]

    def test_job_waits_for_the_commit_of_what_it_needs(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.db import db
        from fedikit.core.jobs import enqueue
        from fedikit.core.models import Tag

        db.session.add(Tag(name="pending", display_name="pending"))
        db.session.flush()
        enqueue("conformance.record", value="after commit")
        time.sleep(0.2)
        assert job_plugin.runs == []  # not sent while the write is uncommitted
        db.session.commit()
        settle(fedikit_app)
        assert [r["value"] for r in job_plugin.runs] == ["after commit"]
        db.session.add(Tag(name="dropped", display_name="dropped"))
        db.session.flush()
        enqueue("conformance.record", value="rolled back")
        db.session.rollback()
        settle(fedikit_app)
        assert [r["value"] for r in job_plugin.runs] == ["after commit"]

    def test_unknown_job_name_is_refused(self, fedikit_app: Flask) -> None:
        from fedikit.core.jobs import enqueue

        with pytest.raises(KeyError):
            enqueue("conformance.no_such_job")

    combines_batches = True
    """Whether the queue runs batch jobs that wait at the same time together (a queue may run each alone)."""

    def _batch_calls(self, fedikit_app: Flask, job_plugin: _Jobs, jobs: list[dict[str, Any]]) -> list[list[int]]:
        """Queue ``jobs`` (``conformance.batch``) while every worker is busy, then let them run; the calls made."""
        from fedikit.core.jobs import enqueue

        for _ in range(8):  # more than the workers: the batch jobs wait behind those not taken yet
            enqueue("conformance.hold")
        for args in jobs:
            enqueue("conformance.batch", **args)
        job_plugin.released.set()
        settle(fedikit_app)
        return [run["values"] for run in job_plugin.runs if run["job"] == "batch"]

    def test_batch_jobs_waiting_together_run_together(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        calls = self._batch_calls(fedikit_app, job_plugin, [{"value": n} for n in range(70)])
        assert sorted(value for call in calls for value in call) == list(range(70))  # each once
        assert all(len(call) <= 50 for call in calls)
        if self.combines_batches:
            assert calls == [list(range(50)), list(range(50, 70))]

    def test_a_batch_that_fails_runs_each_job_alone(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        jobs = [{"value": n, "fail": n == 2} for n in range(5)]
        calls = self._batch_calls(fedikit_app, job_plugin, [{**args, "max_attempts": 2} for args in jobs])
        alone = sorted(call[0] for call in calls if len(call) == 1)
        if self.combines_batches:
            assert calls[0] == [0, 1, 2, 3, 4]
            assert alone == [0, 1, 2, 2, 3, 4]  # the failing one tried twice alone, the others once
        else:
            assert alone == [0, 1, 2, 2, 3, 4]

    def test_batch_job_with_a_delay_runs_alone(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        from fedikit.core.jobs import enqueue

        enqueue("conformance.batch", value=1, delay=0.2)
        enqueue("conformance.batch", value=2, delay=0.2)
        settle(fedikit_app)
        assert sorted(run["values"] for run in job_plugin.runs) == [[1], [2]]

    def test_queue_accepts_job_objects(self, fedikit_app: Flask, job_plugin: _Jobs) -> None:
        queue = _state(fedikit_app).queue
        job_id = queue.enqueue(Job(name="conformance.record", args={"value": 7}))
        assert isinstance(job_id, str) and job_id
        settle(fedikit_app)
        assert [r["value"] for r in job_plugin.runs] == [7]


class MediaStoreConformance:
    """Files in and out by key; keys that could escape the store are refused."""

    @pytest.fixture
    def store(self, fedikit_app: Flask) -> MediaStore:
        return _state(fedikit_app).media

    def test_implements_protocol(self, store: MediaStore) -> None:
        assert isinstance(store, MediaStore)

    def test_round_trip_bytes_and_file_objects(self, store: MediaStore) -> None:
        store.put("media/aa/1.png", b"\x89PNG bytes", "image/png")
        store.put("media/aa/2.bin", io.BytesIO(b"x" * 100_000), "application/octet-stream")
        with store.open("media/aa/1.png") as f:
            assert f.read() == b"\x89PNG bytes"
        with store.open("media/aa/2.bin") as f:
            assert f.read() == b"x" * 100_000
        assert store.exists("media/aa/1.png")

    def test_overwrite_replaces(self, store: MediaStore) -> None:
        store.put("media/k", b"one", "text/plain")
        store.put("media/k", b"two", "text/plain")
        with store.open("media/k") as f:
            assert f.read() == b"two"

    def test_delete(self, store: MediaStore) -> None:
        store.put("media/gone", b"x", "text/plain")
        store.delete("media/gone")
        assert not store.exists("media/gone")
        store.delete("media/gone")  # deleting twice is fine
        with pytest.raises(NotFound):
            store.open("media/gone")

    def test_url_names_the_key(self, store: MediaStore) -> None:
        store.put("media/ab/cd/3.jpg", b"x", "image/jpeg")
        url = store.url("media/ab/cd/3.jpg")
        assert url.startswith(("http://", "https://")) and url.endswith("media/ab/cd/3.jpg")

    @pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "media/../../x", "a//b", "media\\..\\x", "", "./x"])
    def test_unsafe_keys_are_refused(self, store: MediaStore, key: str) -> None:
        with pytest.raises(BackendError):
            store.put(key, b"x", "text/plain")


class SearchIndexConformance:
    """Documents in, matching ids out; the person's query is never read as query syntax."""

    @pytest.fixture
    def index(self, fedikit_app: Flask) -> SearchIndex:
        return _state(fedikit_app).search

    def test_implements_protocol(self, index: SearchIndex) -> None:
        assert isinstance(index, SearchIndex)
        assert index.kinds <= {"statuses", "accounts"}

    def test_finds_by_words(self, index: SearchIndex) -> None:
        index.index("statuses", 1, "The quick brown fox")
        index.index("statuses", 2, "A lazy dog sleeps")
        index.index("statuses", 3, "Quick thinking dog")
        assert sorted(index.search("statuses", "quick")) == [1, 3]
        assert index.search("statuses", "dog quick") == [3]
        assert index.search("statuses", "cat") == []

    def test_kinds_are_separate(self, index: SearchIndex) -> None:
        index.index("statuses", 1, "fedikit news")
        if "accounts" in index.kinds:
            index.index("accounts", 1, "someone else")
            assert index.search("accounts", "fedikit") == []
        assert index.search("statuses", "fedikit") == [1]

    def test_reindex_replaces_and_remove_forgets(self, index: SearchIndex) -> None:
        index.index("statuses", 5, "old words")
        index.index("statuses", 5, "new words")
        assert index.search("statuses", "old") == []
        assert index.search("statuses", "new") == [5]
        index.remove("statuses", 5)
        assert index.search("statuses", "new") == []
        index.remove("statuses", 5)  # removing twice is fine

    def test_bulk_index_stores_and_replaces_as_index_does(self, index: SearchIndex) -> None:
        bulk = getattr(index, "bulk_index", None)
        if bulk is None:
            pytest.skip("this index has no bulk_index")
        index.index("statuses", 1, "old words")
        assert bulk("statuses", [(1, "new words"), (2, "more new words"), (3, "other")]) == 3
        assert index.search("statuses", "old") == []
        assert sorted(index.search("statuses", "new")) == [1, 2]
        assert bulk("statuses", []) == 0

    def test_limit_and_offset(self, index: SearchIndex) -> None:
        for n in range(1, 8):
            index.index("statuses", n, f"common word {n}")
        first = index.search("statuses", "common", limit=3)
        second = index.search("statuses", "common", limit=3, offset=3)
        assert len(first) == 3 and len(second) == 3 and not set(first) & set(second)

    def test_accounts_match_word_prefixes(self, index: SearchIndex) -> None:
        if "accounts" not in index.kinds:
            pytest.skip("this index does not search accounts")
        index.index("accounts", 1, "alice Alice Liddell wonderland.example")
        index.index("accounts", 2, "alfred Alfred Pennyworth")
        index.index("accounts", 3, "bob")
        assert index.search("accounts", "ali") == [1]
        assert sorted(index.search("accounts", "AL")) == [1, 2]
        assert index.search("accounts", "lidd al") == [1]  # every word, in any order
        assert index.search("accounts", "wonder") == [1]
        assert index.search("accounts", "ali bo") == []

    @pytest.mark.parametrize("kind", ["statuses", "accounts"])
    @pytest.mark.parametrize("query", HOSTILE_QUERIES)
    def test_hostile_queries_do_not_fail(self, index: SearchIndex, kind: str, query: str) -> None:
        if kind not in index.kinds:
            pytest.skip(f"this index does not search {kind}")
        index.index(kind, 1, "some text")
        assert isinstance(index.search(kind, query), list)
        assert index.search(kind, f"{query} some") in ([], [1])


class PubSubConformance:
    """Messages reach every subscriber of their channel, in order, and no one else."""

    @pytest.fixture
    def pubsub(self, fedikit_app: Flask) -> PubSub:
        return _state(fedikit_app).streaming

    def test_implements_protocol(self, pubsub: PubSub) -> None:
        assert isinstance(pubsub, PubSub)

    def test_publish_reaches_subscribers_in_order(self, pubsub: PubSub) -> None:
        one, two = pubsub.subscribe(["timeline:public"]), pubsub.subscribe(["timeline:public", "timeline:1"])
        try:
            for n in range(3):
                pubsub.publish("timeline:public", f"m{n}")
            pubsub.publish("timeline:1", "private")
            assert [one.get(timeout=2) for _ in range(3)] == [("timeline:public", f"m{n}") for n in range(3)]
            got = [two.get(timeout=2) for _ in range(4)]
            assert got == [*(("timeline:public", f"m{n}") for n in range(3)), ("timeline:1", "private")]
            assert one.get(timeout=0.2) is None
        finally:
            one.close()
            two.close()

    def test_active_channels_if_offered(self, pubsub: PubSub) -> None:
        probe = getattr(pubsub, "active_channels", None)
        if probe is None:
            pytest.skip("this backend does not say which channels are listened to")
        subscription = pubsub.subscribe(["timeline:42"])
        try:
            assert "timeline:42" in probe()
        finally:
            subscription.close()
        deadline = time.monotonic() + 2  # a backend may let go of a channel a moment after the last close
        while "timeline:42" in probe() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "timeline:42" not in probe()

    def test_closed_subscription_gets_nothing(self, pubsub: PubSub) -> None:
        subscription = pubsub.subscribe(["c"])
        subscription.close()
        pubsub.publish("c", "late")
        assert subscription.get(timeout=0.2) is None

    def test_get_times_out(self, pubsub: PubSub) -> None:
        subscription = pubsub.subscribe(["quiet"])
        try:
            started = time.monotonic()
            assert subscription.get(timeout=0.2) is None
            assert time.monotonic() - started >= 0.15
        finally:
            subscription.close()

    def test_close_wakes_a_waiting_reader(self, pubsub: PubSub) -> None:
        subscription = pubsub.subscribe(["wake"])
        results: list[Any] = []
        reader = threading.Thread(target=lambda: results.extend(subscription))
        reader.start()
        pubsub.publish("wake", "one")
        time.sleep(0.2)
        subscription.close()
        reader.join(timeout=5)
        assert not reader.is_alive()
        assert results == [("wake", "one")]


class CacheConformance:
    """Values and counters come back until their time to live ends, and not after."""

    @pytest.fixture
    def cache(self, fedikit_app: Flask) -> Cache:
        return _state(fedikit_app).cache

    def test_implements_protocol(self, cache: Cache) -> None:
        assert isinstance(cache, Cache)
        assert isinstance(cache.shared, bool)

    def test_counters_count_per_key(self, cache: Cache) -> None:
        assert [cache.incr("conformance:a", 60) for _ in range(3)] == [1, 2, 3]
        assert cache.incr("conformance:b", 60) == 1
        assert cache.get("conformance:a") == "3"

    def test_values_and_only_if_absent(self, cache: Cache) -> None:
        assert cache.get("conformance:v") is None
        assert cache.set("conformance:v", "first", 60, only_if_absent=True) is True
        assert cache.set("conformance:v", "second", 60, only_if_absent=True) is False
        assert cache.get("conformance:v") == "first"
        assert cache.set("conformance:v", "third", 60) is True
        assert cache.get("conformance:v") == "third"
        cache.delete("conformance:v")
        cache.delete("conformance:never-set")
        assert cache.get("conformance:v") is None

    def test_everything_expires(self, cache: Cache) -> None:
        cache.set("conformance:short", "x", 1)
        assert cache.incr("conformance:window", 1) == 1
        assert cache.incr("conformance:window", 60) == 2  # a running counter keeps the end of its window
        time.sleep(1.2)
        assert cache.get("conformance:short") is None
        assert cache.incr("conformance:window", 60) == 1  # a new window
