"""Jobs queued while the durable queue's Redis is down are kept in the outbox and run once it is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from processes import RedisServer, eventually

from fedikit.core import jobs
from fedikit.plugin_api.testing import close_app, make_app, settle

if TYPE_CHECKING:
    from conftest import MakeApiUser


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)  # a port of its own, not started yet: the queue's server is down
    yield server
    server.stop()


@pytest.fixture
def fedikit_app(fedikit_config: dict[str, Any], redis: RedisServer, tmp_path: Path) -> Iterator[Flask]:
    """Jobs on RQ (run by a worker thread here) on the test's own Redis; everything else embedded."""
    config = {
        **fedikit_config,
        "REDIS_URL": redis.url,
        "QUEUE_BACKEND": "rq",
        "RQ_WORKER_THREADS": "1",
        "FEEDS_BACKEND": "sql",
        "STREAMING_BACKEND": "memory",
        "CACHE_BACKEND": "memory",
        "MEDIA_BACKEND": "local",
    }
    app = make_app(config, data_dir=str(tmp_path / "instance-data"))
    with app.app_context():
        yield app
    if redis.process is None:
        redis.start()  # closing drains the queue
    close_app(app)


@pytest.fixture
def fedikit_client(fedikit_app: Flask) -> Any:
    """A plain client in every profile: the production one waits for the queue after each request, and
    the queue's Redis is down at first here."""
    return fedikit_app.test_client()


def _outbox(app: Flask) -> list[str]:
    from fedikit.core.db import db
    from fedikit.core.models import OutboxJob

    with app.app_context():
        return [row.name for row in db.session.query(OutboxJob).order_by(OutboxJob.id)]


def test_jobs_wait_in_the_outbox_until_the_queue_is_back(
    fedikit_app: Flask,
    fedikit_client: Any,
    make_api_user: MakeApiUser,
    redis: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "RELAY_EVERY", 0.2)
    alice, bob = make_api_user("alice"), make_api_user("bob")
    followed = fedikit_client.post(
        f"/api/v1/accounts/{alice.account.id}/follow", data={"notify": "true"}, headers=bob.headers
    )
    assert followed.status_code == 200 and followed.json["notifying"] is True

    posted = fedikit_client.post("/api/v1/statuses", data={"status": "while Redis is down"}, headers=alice.headers)
    assert posted.status_code == 200  # the post is stored; its background work waits
    assert "core.after_status" in _outbox(fedikit_app)  # its follow-ups: subscribers, index, fan-out

    def subscribed_notifications() -> list[dict[str, Any]]:
        found = fedikit_client.get("/api/v1/notifications?types[]=status", headers=bob.headers).json
        return [n for n in found if n["status"]["id"] == posted.json["id"]]

    assert subscribed_notifications() == []

    redis.start()
    eventually(lambda: _outbox(fedikit_app) == [], timeout=20, what="the outbox to be handed to the queue")
    settle(fedikit_app)
    eventually(subscribed_notifications, timeout=20, what="the subscriber's notification")


def test_relay_hands_over_every_kept_job_once(
    fedikit_app: Flask,
    fedikit_client: Any,
    make_api_user: MakeApiUser,
    redis: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs, "RELAY_EVERY", 3600)  # the process's own relayer tries once, then leaves it to us
    alice = make_api_user("alice")
    fedikit_client.post("/api/v1/statuses", data={"status": "kept"}, headers=alice.headers)
    kept = _outbox(fedikit_app)
    assert kept
    redis.start()
    assert jobs.relay(fedikit_app) == len(kept)
    assert _outbox(fedikit_app) == [] and jobs.relay(fedikit_app) == 0
