"""The Redis feed store passes the feed suite, and keeps Mastodon's rules for precomputed feeds.

Real Redis (``redis_config``) and both databases (``database``). The queue and
streaming backends are pinned to the embedded ones so only the feed store is
on Redis.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from fedikit.plugin_api.conformance import FeedStoreConformance
from fedikit.plugin_api.testing import settle

BIG = 1 << 62  # about where snowflake ids are today; a double holds integers exactly only up to 2**53


def _config(redis_config: dict[str, str], database: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        **database,
        **redis_config,
        "FEEDS_BACKEND": "redis",
        "QUEUE_BACKEND": "inline",
        "STREAMING_BACKEND": "memory",
        **extra,
    }


def _store(app: Flask) -> Any:
    return app.extensions["fedikit"].feeds


def _user(username: str) -> Any:
    from fedikit.core.services.accounts import create_local_account

    return create_local_account(username, f"{username}@example.com", f"{username}-password", confirmed=True)


def _token(client: FlaskClient, username: str) -> dict[str, str]:
    """A bearer token obtained as a client does: register an app, then the password grant."""
    scopes = "read write follow"
    app = client.post(
        "/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes}
    ).json
    answer = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": f"{username}@example.com",
            "password": f"{username}-password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": scopes,
        },
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def _age(user: Any, days: int) -> None:
    """Make ``user`` look idle for ``days``: signed up and last used the API that long ago."""
    from fedikit.core.db import db, utcnow
    from fedikit.core.models import AccessToken, User

    then = utcnow() - dt.timedelta(days=days)
    db.session.execute(update(User).where(User.id == user.id).values(created_at=then))
    db.session.execute(update(AccessToken).where(AccessToken.user_id == user.id).values(last_used_at=then))
    db.session.commit()


class TestRedisFeeds(FeedStoreConformance):
    @pytest.fixture
    def fedikit_config(self, redis_config: dict[str, str], database: dict[str, str]) -> dict[str, Any]:
        return _config(redis_config, database)


@pytest.fixture
def fedikit_config(redis_config: dict[str, str], database: dict[str, str]) -> dict[str, Any]:
    return _config(redis_config, database)


def test_chosen_when_redis_url_is_set(redis_config: dict[str, str], tmp_path: Any) -> None:
    from fedikit.plugin_api.testing import close_app, make_app

    app = make_app({**redis_config, "QUEUE_BACKEND": "inline"}, data_dir=str(tmp_path))
    try:
        assert type(_store(app)).__name__ == "RedisFeedStore"
        assert _store(app).max_items == 400  # Mastodon's FeedManager::MAX_ITEMS
    finally:
        close_app(app)


def test_feed_is_capped_at_feed_max_items(redis_config: dict[str, str], tmp_path: Any) -> None:
    from fedikit.plugin_api.testing import close_app, make_app

    app = make_app(_config(redis_config, {}, FEED_MAX_ITEMS="5"), data_dir=str(tmp_path))
    try:
        store = _store(app)
        store.add(["home:1", "list:2"], BIG + 1)
        for n in range(2, 9):
            store.add(["home:1", "list:2"], BIG + n)
        assert store.ids("home:1", limit=20) == [BIG + n for n in range(8, 3, -1)]
        assert store.ids("list:2", limit=20) == [BIG + n for n in range(8, 3, -1)]
        store.fill("home:3", [BIG + n for n in range(100)])
        assert store.ids("home:3", limit=20) == [BIG + n for n in range(99, 94, -1)]
    finally:
        close_app(app)


def test_large_ids_keep_exact_order_and_pages(fedikit_app: Flask) -> None:
    store = _store(fedikit_app)
    ids = [BIG + n for n in range(10)] + [(1 << 63) - 1, (1 << 63) - 2, 2**53 + 1, 2**53]
    assert float(BIG + 1) == float(BIG + 2)  # as plain scores these would tie
    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    for status_id in shuffled:
        store.add(["home:1"], status_id)
    newest_first = sorted(ids, reverse=True)
    assert store.ids("home:1", limit=50) == newest_first
    assert store.ids("home:1", max_id=BIG + 5, limit=3) == [BIG + 4, BIG + 3, BIG + 2]
    assert store.ids("home:1", since_id=BIG + 7, limit=50) == [(1 << 63) - 1, (1 << 63) - 2, BIG + 9, BIG + 8]
    assert store.ids("home:1", min_id=BIG + 1, limit=2) == [BIG + 3, BIG + 2]
    assert store.ids("home:1", max_id=BIG, limit=5) == [2**53 + 1, 2**53]


def test_pagination_edge_cases(fedikit_app: Flask) -> None:
    store = _store(fedikit_app)
    for n in range(1, 11):
        store.add(["home:1"], n)
    assert store.ids("home:9") == []  # no such feed
    assert store.ids("home:1", limit=0) == []
    assert store.ids("home:1", max_id=1) == []  # strictly below
    assert store.ids("home:1", since_id=10) == []  # strictly above
    assert store.ids("home:1", max_id=5, since_id=4) == []
    assert store.ids("home:1", max_id=6, since_id=3) == [5, 4]
    assert store.ids("home:1", min_id=3, max_id=9, limit=2) == [5, 4]  # just above min_id, below max_id
    assert store.ids("home:1", min_id=8, limit=20) == [10, 9]
    assert store.ids("home:1", min_id=0, limit=3) == [3, 2, 1]  # oldest three, newest first
    assert store.ids("home:1", since_id=2, min_id=5, limit=2) == [7, 6]  # the stricter lower bound wins
    assert store.ids("home:1", max_id=(1 << 64) + 5, limit=2) == [10, 9]
    store.clear("home:1")
    assert store.ids("home:1") == []


def test_every_key_is_under_the_namespace(fedikit_app: Flask, redis_config: dict[str, str]) -> None:
    import redis

    from fedikit.core.services import relationships, statuses

    alice, bob, carol = (_user(name).account for name in ("alice", "bob", "carol"))
    relationships.follow(alice, bob)
    statuses.reblog(bob, statuses.post(carol, "boost me"))
    settle(fedikit_app)
    client = redis.Redis.from_url(redis_config["REDIS_URL"])
    namespace = redis_config["REDIS_NAMESPACE"]
    keys = {key.decode() for key in client.scan_iter(f"{namespace}:*")}
    assert f"{namespace}:feed:home:{alice.id}" in keys
    assert f"{namespace}:feed:home:{alice.id}:reblogs" in keys
    assert not any(key.decode().startswith("feed:") for key in client.scan_iter("feed:*"))


def test_boost_skipped_only_where_the_original_is_recent(fedikit_app: Flask) -> None:
    from fedikit.core.services import relationships, statuses

    alice, bob, carol, dave, erin = (_user(name).account for name in ("alice", "bob", "carol", "dave", "erin"))
    relationships.follow(alice, carol)
    for follower in (alice, dave):
        relationships.follow(follower, bob)
        relationships.follow(follower, erin)
    original = statuses.post(carol, "worth sharing")
    settle(fedikit_app)  # fan-out jobs run concurrently: the original must be in the feeds before the boost comes
    first = statuses.reblog(bob, original)
    settle(fedikit_app)
    store = _store(fedikit_app)
    assert original.id in store.ids(f"home:{alice.id}")
    assert first.id not in store.ids(f"home:{alice.id}")  # alice sees the original near the top already
    assert first.id in store.ids(f"home:{dave.id}")  # dave does not follow carol: the boost is news to him
    second = statuses.reblog(erin, original)
    settle(fedikit_app)
    assert second.id not in store.ids(f"home:{dave.id}")  # bob's boost of it is recent in dave's feed
    assert second.id not in store.ids(f"home:{alice.id}")
    store.fill(f"home:{alice.id}", range(original.id + 1, original.id + 41))  # 40 newer entries push it down
    frank = _user("frank").account
    relationships.follow(alice, frank)
    fourth = statuses.reblog(frank, original)
    settle(fedikit_app)
    assert fourth.id in store.ids(f"home:{alice.id}", limit=50)  # the original is now 41st: the boost goes in


def test_idle_user_is_skipped_then_rebuilt_on_return(fedikit_app: Flask, fedikit_client: FlaskClient) -> None:
    from fedikit.core.services import relationships, statuses

    alice, bob = _user("alice"), _user("bob")
    headers = _token(fedikit_client, "alice")
    relationships.follow(alice.account, bob.account)
    before = statuses.post(bob.account, "while alice was around")
    settle(fedikit_app)
    store = _store(fedikit_app)
    assert store.ids(f"home:{alice.account.id}") == [before.id]
    _age(alice, days=8)  # FEED_ACTIVE_DAYS is 7
    during = statuses.post(bob.account, "while alice was away")
    settle(fedikit_app)
    assert during.id in store.ids(f"home:{bob.account.id}")  # the author is active (just signed up)
    assert store.ids(f"home:{alice.account.id}") == [before.id]  # fan-out skipped idle alice
    answer = fedikit_client.get("/api/v1/timelines/home", headers=headers)
    assert answer.status_code == 200, answer.text
    assert [s["id"] for s in answer.json] == [str(during.id), str(before.id)]  # rebuilt before answering
    later = statuses.post(bob.account, "alice is back")
    settle(fedikit_app)
    assert store.ids(f"home:{alice.account.id}") == [later.id, during.id, before.id]  # active again: fan-out


def test_lost_feed_is_rebuilt_from_sql(fedikit_app: Flask) -> None:
    from fedikit.core.services import relationships, statuses, timelines

    alice, bob = _user("alice").account, _user("bob").account
    relationships.follow(alice, bob)
    posted = [statuses.post(bob, f"post {n}").id for n in range(3)]
    settle(fedikit_app)
    _store(fedikit_app).clear(f"home:{alice.id}")  # as if Redis had been flushed
    assert [s.id for s in timelines.home(alice)] == posted[::-1]
    assert _store(fedikit_app).ids(f"home:{alice.id}") == posted[::-1]


def test_delete_removes_from_every_feed_even_idle_ones(fedikit_app: Flask) -> None:
    from fedikit.core.db import db
    from fedikit.core.models import List, ListAccount
    from fedikit.core.services import relationships, statuses

    alice, bob, carol = _user("alice"), _user("bob").account, _user("carol").account
    relationships.follow(alice.account, bob)
    relationships.follow(carol, bob)
    friends = List(account_id=carol.id, title="friends")
    db.session.add(friends)
    db.session.flush()
    db.session.add(ListAccount(list_id=friends.id, account_id=bob.id))
    db.session.commit()
    status = statuses.post(bob, "soon gone")
    boost = statuses.reblog(carol, statuses.post(bob, "boosted, then deleted"))
    settle(fedikit_app)
    store = _store(fedikit_app)
    feeds = [f"home:{alice.account.id}", f"home:{carol.id}", f"list:{friends.id}", f"home:{bob.id}"]
    assert all(status.id in store.ids(feed) for feed in feeds)
    _age(alice, days=30)
    statuses.delete(bob, status)
    statuses.delete(bob, db.session.get(type(status), boost.reblog_of_id))
    settle(fedikit_app)
    for feed in feeds:
        assert status.id not in store.ids(feed)
        assert boost.id not in store.ids(feed)


def test_redis_down_is_a_503_not_an_empty_feed(tmp_path: Any) -> None:
    from fedikit.plugin_api.testing import close_app, make_app

    config = {
        "REDIS_URL": "redis://127.0.0.1:1/0",  # nothing listens there
        "FEEDS_BACKEND": "redis",
        "QUEUE_BACKEND": "inline",
        "STREAMING_BACKEND": "memory",
    }
    app = make_app(config, data_dir=str(tmp_path))
    try:
        with app.app_context():
            _user("alice")
            client = app.test_client()
            answer = client.get("/api/v1/timelines/home", headers=_token(client, "alice"))
        assert answer.status_code == 503
        assert "unavailable" in answer.json["error"]
    finally:
        close_app(app)


def test_add_reblog_says_which_feeds_it_entered(fedikit_app: Flask) -> None:
    # Live streams show a boost only where it went in: not to a home that already shows the original.
    store = _store(fedikit_app)
    store.add(["home:1"], 100)
    assert store.add_reblog(["home:1", "home:2", "list:3"], 200, 100) == ["list:3", "home:2"]
    assert 200 not in store.ids("home:1") and 200 in store.ids("home:2") and 200 in store.ids("list:3")


def test_fan_out_of_a_batch_puts_each_status_where_it_belongs(fedikit_app: Flask) -> None:
    """Statuses fanned out in one batch job (as a burst leaves them) share audiences only where the rules
    give the same one: a reply to someone alice does not follow stays out of her home, a thread gets in."""
    from fedikit.core import jobs
    from fedikit.core.services import relationships, statuses, timelines
    from fedikit.plugin_api import Job

    alice, bob, carol = (_user(name).account for name in ("alice", "bob", "carol"))
    relationships.follow(alice, bob)
    to_carol_status = statuses.post(carol, "hello")
    settle(fedikit_app)
    posted = [
        statuses.post(bob, "plain"),
        statuses.post(bob, "@carol hi", in_reply_to=to_carol_status),
        statuses.post(bob, "tagged #numbat"),
        statuses.post(bob, "unlisted", visibility="unlisted"),
    ]
    posted.append(statuses.post(bob, "more of my thread", in_reply_to=posted[0]))
    posted.append(statuses.post(bob, "@alice psst", visibility="direct"))
    settle(fedikit_app)
    store = _store(fedikit_app)
    for feed in (f"home:{alice.id}", f"home:{bob.id}", f"home:{carol.id}"):
        store.clear(feed)
    items = [{"status_id": status.id} for status in posted]
    jobs.run(fedikit_app, Job(name="core.fan_out", args=items[0], batched=items))
    home = set(store.ids(f"home:{alice.id}", limit=40))
    assert [status.id in home for status in posted] == [True, False, True, True, True, True]
    for status in posted:
        for feed in timelines.feeds_for(status, active_only=True):
            assert status.id in store.ids(feed, limit=40)
