"""Deliveries against real HTTP servers on loopback: retries, give-ups, deadlines and domain health.

Each test gets its own ``ThreadingHTTPServer`` on 127.0.0.1 (so its own
``127.0.0.1:<port>`` domain), told per inbox path what to answer, one answer
per request: a status code, or ``"drip"`` (headers, then one body byte a
second). The server records every request, so a test can check that what
arrived is the body that was sent, signed by its sender.

Retries run without waiting: the app's queue is replaced by a list that
records each job and its delay, and a test runs the follow-up by calling
:func:`delivery.deliver` with the job's arguments (``attempt=`` included).
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from typing import Any

import pytest
from flask import Flask

from fedikit.core.db import db
from fedikit.core.models import Account, RemoteInstance
from fedikit.core.services import accounts, remote_instances
from fedikit.plugin_api import Job, retry_delay
from fedikit.plugin_api.testing import settle
from fedikit.plugins.activitypub import delivery, remote, signatures
from fedikit.plugins.activitypub.fetch import RemoteFetcher
from fedikit.plugins.activitypub.keys import ensure_keys, key_id

ACTIVITY = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "id": "http://fedikit.test/users/alice/statuses/1/activity",
    "type": "Create",
    "actor": "http://fedikit.test/users/alice",
    "object": {"type": "Note", "content": "héllo, wörld"},
}


# --------------------------------------------------------------- the inbox server


class _Inbox(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _InboxServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.received.append((self.path, dict(self.headers.items()), body))
            answers = self.server.answers.get(self.path, [])
            answer = answers.pop(0) if answers else 202
        if answer == "drip":
            self._drip()
            return
        text = b"see you later"
        self.send_response(int(answer))
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _drip(self) -> None:
        """A 202 whose body comes one byte a second: every read is quick, the whole never ends."""
        self.close_connection = True
        self.send_response(202)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "60")
        self.end_headers()
        try:
            for _ in range(10):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass


class _InboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Inbox)
        self.lock = threading.Lock()
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.answers: dict[str, list[int | str]] = {}

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def inbox(self, path: str, *answers: int | str) -> str:
        """The URL of inbox ``path``, which answers ``answers`` in turn (then 202)."""
        self.answers[path] = list(answers)
        return f"http://{self.domain}{path}"

    def bodies(self, path: str) -> list[bytes]:
        return [body for got, _, body in self.received if got == path]


@pytest.fixture
def server() -> Iterator[_InboxServer]:
    httpd = _InboxServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------- the app


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8", "LOCAL_HTTPS": "false"}


@pytest.fixture
def alice(fedikit_app: Flask) -> Account:
    account = accounts.create_local_account("alice", "alice@example.com", "correct horse battery", confirmed=True)
    return account.account


@pytest.fixture
def queued(fedikit_app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Job, float]]:
    """Jobs handed to the queue (with their delays), recorded instead of run."""
    jobs: list[tuple[Job, float]] = []

    def enqueue(job: Job, *, delay: float = 0.0) -> str:
        jobs.append((job, delay))
        return job.id

    monkeypatch.setattr(fedikit_app.extensions["fedikit"].queue, "enqueue", enqueue)
    return jobs


def deliver(inboxes: list[str], sender: Account, attempt: int = 1) -> None:
    delivery.deliver(ACTIVITY, inboxes, sender.id, attempt=attempt)
    db.session.commit()  # as the job runner does


def run_follow_up(queued: list[tuple[Job, float]]) -> None:
    """Run the one queued follow-up now instead of after its delay."""
    (job, _delay), *_ = queued
    queued.clear()
    assert job.name == "activitypub.deliver"
    delivery.deliver(**job.args)
    db.session.commit()


def assert_signed_by(sender: Account, url: str, headers: dict[str, str], body: bytes) -> None:
    """The receiving side's check: the Signature (and the Digest it covers) verify with the sender's key."""
    _, public_pem = ensure_keys(sender)
    expected = key_id(sender)

    def lookup(wanted: str, refresh: bool) -> str | None:
        return public_pem if wanted == expected else None

    assert signatures.verify("POST", url, headers, body, lookup) == expected
    assert headers["Content-Type"] == signatures.ACTIVITY_JSON


def instance(domain: str) -> RemoteInstance | None:
    db.session.expire_all()
    return db.session.query(RemoteInstance).filter_by(domain=domain).one_or_none()


# --------------------------------------------------------------- answers and retries


def test_an_inbox_that_is_down_is_retried_later(
    alice: Account, queued: list[tuple[Job, float]], closed_port: int
) -> None:
    inbox = f"http://127.0.0.1:{closed_port}/inbox"
    deliver([inbox], alice)

    [(job, delay)] = queued
    assert job.args == {"activity": ACTIVITY, "inboxes": [inbox], "sender_id": alice.id, "attempt": 2}
    assert job.queue == "push"
    assert retry_delay(1) <= delay <= retry_delay(1, jitter=1)
    assert remote_instances.failure_days(f"127.0.0.1:{closed_port}") == [dt.datetime.now(dt.UTC).date().isoformat()]


def test_a_server_error_then_success_delivers_the_same_signed_body(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer
) -> None:
    inbox = server.inbox("/users/bob/inbox", 500, 202)
    deliver([inbox], alice)
    assert len(server.bodies("/users/bob/inbox")) == 1
    [(job, _)] = queued
    assert job.args["attempt"] == 2
    assert remote_instances.failure_days(server.domain)

    run_follow_up(queued)

    assert queued == []  # delivered: nothing more to try
    received = [(headers, body) for path, headers, body in server.received if path == "/users/bob/inbox"]
    assert len(received) == 2
    for headers, body in received:
        assert json.loads(body) == ACTIVITY  # nothing lost or changed on the way, on either try
        assert_signed_by(alice, inbox, headers, body)
    row = instance(server.domain)
    assert row is not None and row.failure_days == [] and row.last_success_at is not None


def test_a_gone_inbox_is_given_up_at_once(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer
) -> None:
    inbox = server.inbox("/inbox", 410)
    deliver([inbox], alice)

    assert queued == []
    assert len(server.bodies("/inbox")) == 1
    # The server answered, so it is up: an unsalvageable answer is neither a failure nor a success.
    assert remote_instances.failure_days(server.domain) == []


def test_salvageable_answers_are_retried(alice: Account, queued: list[tuple[Job, float]], server: _InboxServer) -> None:
    inboxes = [server.inbox(f"/{status}", status) for status in (401, 408, 429, 500, 502, 503)]
    deliver(inboxes, alice)

    [(job, _)] = queued  # one follow-up for the whole batch
    assert job.args["inboxes"] == inboxes and job.args["attempt"] == 2


def test_unsalvageable_answers_are_not_retried(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer
) -> None:
    deliver([server.inbox(f"/{status}", status) for status in (400, 403, 404, 410, 422, 501)], alice)
    assert queued == []
    assert len(server.received) == 6


def test_one_follow_up_per_batch_holds_only_the_retriable_inboxes(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer, closed_port: int
) -> None:
    fine = server.inbox("/fine", 202)
    broken = server.inbox("/broken", 503)
    gone = server.inbox("/gone", 404)
    down = f"http://127.0.0.1:{closed_port}/inbox"
    deliver([fine, broken, gone, down], alice)

    [(job, _)] = queued
    assert job.args["inboxes"] == [broken, down]
    # One inbox of the server's domain took it: the domain is up, whatever its other inbox said.
    assert remote_instances.failure_days(server.domain) == []
    assert instance(server.domain).last_success_at is not None  # type: ignore[union-attr]
    assert len(remote_instances.failure_days(f"127.0.0.1:{closed_port}")) == 1


def test_retries_stop_after_the_last_attempt(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer
) -> None:
    deliver([server.inbox("/inbox", 500)], alice, attempt=delivery.MAX_ATTEMPTS)
    assert queued == []
    assert len(remote_instances.failure_days(server.domain)) == 1


def test_a_slow_drip_inbox_is_cut_off_by_the_total_deadline(
    fedikit_app: Flask,
    alice: Account,
    queued: list[tuple[Job, float]],
    server: _InboxServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every read of the drip comes well within the read timeout; only the total deadline can end it.
    fetcher = RemoteFetcher(
        user_agent="fedikit-test",
        allowed_private=[ip_network("127.0.0.0/8")],
        allow_http=True,
        read_timeout=5,
        total_timeout=1,
    )
    monkeypatch.setitem(fedikit_app.extensions, remote.EXTENSION, fetcher)
    inbox = server.inbox("/inbox", "drip")
    try:
        started = time.monotonic()
        deliver([inbox], alice)
        elapsed = time.monotonic() - started
    finally:
        fetcher.close()

    assert elapsed < 3
    [(job, _)] = queued
    assert job.args["inboxes"] == [inbox] and job.args["attempt"] == 2
    [(_, headers, body)] = server.received
    assert_signed_by(alice, inbox, headers, body)


def test_send_queues_signed_deliveries_that_arrive(fedikit_app: Flask, alice: Account, server: _InboxServer) -> None:
    inbox = server.inbox("/inbox")
    assert delivery.send(ACTIVITY, [inbox, inbox, ""], alice) == 1
    db.session.commit()
    settle(fedikit_app)

    [(_, headers, body)] = server.received
    assert json.loads(body) == ACTIVITY
    assert_signed_by(alice, inbox, headers, body)
    assert instance(server.domain).last_success_at is not None  # type: ignore[union-attr]


# --------------------------------------------------------------- unavailable domains


def fail_on_days(domain: str, days: int) -> bool:
    start = dt.date(2024, 3, 1)
    unavailable = False
    for offset in range(days):
        unavailable = remote_instances.record_failure(domain, today=start + dt.timedelta(days=offset))
    return unavailable


def test_seven_failing_days_make_a_domain_unavailable(fedikit_app: Flask) -> None:
    assert not fail_on_days("Dead.Example", 6)
    # More failures on a day already counted change nothing.
    assert not remote_instances.record_failure("dead.example", today=dt.date(2024, 3, 6))
    assert remote_instances.unavailable(["dead.example", "alive.example"]) == set()

    assert remote_instances.record_failure("dead.example", today=dt.date(2024, 3, 7))
    assert remote_instances.unavailable(["DEAD.example", "alive.example", ""]) == {"dead.example"}
    assert len(remote_instances.failure_days("dead.example")) == 7
    since = instance("dead.example").unavailable_since  # type: ignore[union-attr]
    assert since is not None

    remote_instances.record_failure("dead.example", today=dt.date(2024, 3, 8))
    assert instance("dead.example").unavailable_since == since  # type: ignore[union-attr]

    remote_instances.record_success("dead.example")
    assert remote_instances.unavailable(["dead.example"]) == set()
    assert remote_instances.failure_days("dead.example") == []


def test_record_success_creates_the_row_once(fedikit_app: Flask) -> None:
    remote_instances.record_success("new.example")
    remote_instances.record_success("new.example")
    [row] = db.session.query(RemoteInstance).filter_by(domain="new.example").all()
    assert row.last_success_at is not None and row.failure_days == [] and row.unavailable_since is None


def test_send_skips_unavailable_domains_until_a_success_clears_them(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer, closed_port: int
) -> None:
    dead = f"http://127.0.0.1:{closed_port}/inbox"
    alive = server.inbox("/inbox")
    assert fail_on_days(f"127.0.0.1:{closed_port}", 7)

    assert delivery.send(ACTIVITY, [dead, alive], alice) == 1
    [(job, _)] = queued
    assert job.args["inboxes"] == [alive]
    queued.clear()

    assert delivery.send(ACTIVITY, [dead], alice) == 0
    assert queued == []

    remote_instances.record_success(f"127.0.0.1:{closed_port}")
    assert delivery.send(ACTIVITY, [dead], alice) == 1


def test_a_retry_to_a_domain_that_became_unavailable_is_dropped(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer
) -> None:
    inbox = server.inbox("/inbox", 500)
    fail_on_days(server.domain, 7)
    deliver([inbox], alice, attempt=3)
    assert server.received == []
    assert queued == []


def test_a_delivered_activity_clears_the_failing_days(
    alice: Account, queued: list[tuple[Job, float]], server: _InboxServer
) -> None:
    fail_on_days(server.domain, 6)
    deliver([server.inbox("/inbox", 202)], alice)
    assert remote_instances.failure_days(server.domain) == []
    assert remote_instances.unavailable([server.domain]) == set()
