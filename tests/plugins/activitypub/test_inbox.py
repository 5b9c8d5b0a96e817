"""The inbox end to end: signed POSTs from a fake remote server's actors, checked, queued and handled.

A real ``ThreadingHTTPServer`` on 127.0.0.1 (one per module) serves the actor
documents of two remote people, bob and carol, whose key pairs the module
made, and accepts whatever this instance delivers to their inboxes. The app
may reach loopback (``ALLOWED_PRIVATE_ADDRESSES``) and uses ``http://`` ids
(``LOCAL_HTTPS=false``), so the inbox fetches the signers' keys from that
server for real. Requests are signed for ``BASE_URL + path``; the server checks
them with the real clock, so dates are moved with ``now=``.

Every refusal is checked twice: by its status code, and by nothing having
been stored or changed once the job queue is idle.
"""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from fake_remote import FakeRemote, Remote
from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from fedikit.core.db import db
from fedikit.core.models import Account, Follow, FollowRequest, Status
from fedikit.core.services import accounts, relationships, statuses
from fedikit.plugin_api import hookimpl
from fedikit.plugin_api.testing import settle
from fedikit.plugins.activitypub.inbox import MAX_BODY
from fedikit.plugins.activitypub.signatures import (
    load_private_key,
    sign_request,
    sign_rfc9421,
)

BASE_URL = "http://fedikit.test"  # LOCAL_DOMAIN of the test defaults, with LOCAL_HTTPS=false
ALICE_INBOX = "/users/alice/inbox"
AP = "application/activity+json"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8", "LOCAL_HTTPS": "false"}


@pytest.fixture
def alice(fedikit_app: Flask) -> Account:
    return accounts.create_local_account("alice", "alice@example.com", "correct horse battery", confirmed=True).account


@pytest.fixture
def client(fedikit_app: Flask, alice: Account) -> FlaskClient:
    return fedikit_app.test_client()


# -- signing and posting ---------------------------------------------------------------


def encode(activity: Any) -> bytes:
    return json.dumps(activity).encode()


def signed(
    signer: Remote,
    body: bytes,
    *,
    path: str = ALICE_INBOX,
    method: str = "POST",
    now: datetime | None = None,
    key_id: str | None = None,
    private_pem: str | None = None,
) -> dict[str, str]:
    """draft-cavage headers for ``body`` as ``signer`` would send it to ``BASE_URL + path``."""
    return sign_request(
        method, BASE_URL + path, {}, body, key_id or signer.key_id, private_pem or signer.private_pem, now=now
    )


def hand_signed(signer: Remote, body: bytes, covered: list[str], *, path: str = ALICE_INBOX) -> dict[str, str]:
    """A draft-cavage signature over exactly ``covered`` (the Digest header is sent either way)."""
    headers = signed(signer, body, path=path)
    lowered = {name.lower(): value for name, value in headers.items()}
    lines = [
        f"(request-target): post {path}" if name == "(request-target)" else f"{name}: {lowered[name]}"
        for name in covered
    ]
    signature = load_private_key(signer.private_pem).sign(
        "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    headers["Signature"] = (
        f'keyId="{signer.key_id}",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


def send(client: FlaskClient, body: bytes, headers: dict[str, str], path: str = ALICE_INBOX) -> TestResponse:
    return client.post(path, data=body, headers={"Content-Type": AP, **headers}, base_url=BASE_URL)


def post(client: FlaskClient, body: bytes, headers: dict[str, str], path: str = ALICE_INBOX) -> int:
    return send(client, body, headers, path).status_code


def refused(client: FlaskClient, body: bytes, headers: dict[str, str], path: str = ALICE_INBOX) -> tuple[int, str]:
    """The status code and the reason (the error page's text) of a POST."""
    response = send(client, body, headers, path)
    found = re.search(r"<p>(.*)</p>", response.get_data(as_text=True), re.DOTALL)
    return response.status_code, html.unescape(found.group(1)) if found else ""


def deliver(client: FlaskClient, signer: Remote, activity: Any, path: str = ALICE_INBOX) -> int:
    """POST ``activity`` signed by ``signer``; waits for the jobs it queued."""
    body = encode(activity)
    status = post(client, body, signed(signer, body, path=path), path)
    settle(client.application)
    return status


# -- activities and state ------------------------------------------------------------


def follow_of(actor: Remote, target: str = f"{BASE_URL}/users/alice", n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.uri}#follows/{n}",
        "type": "Follow",
        "actor": actor.uri,
        "object": target,
    }


def create_of(actor: Remote, note: dict[str, Any], n: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.uri}/statuses/{n}/activity",
        "type": "Create",
        "actor": actor.uri,
        "to": [AS_PUBLIC],
        "cc": [f"{actor.uri}/followers"],
        "object": note,
    }


def note_by(author: Remote, content: str = "<p>Hello</p>", n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"{author.uri}/statuses/{n}",
        "type": "Note",
        "attributedTo": author.uri,
        "content": content,
        "published": "2024-01-02T03:04:05Z",
        "to": [AS_PUBLIC],
        "cc": [f"{author.uri}/followers"],
        **fields,
    }


def fresh() -> None:
    """Forget what the test's session holds: the jobs committed from other threads."""
    db.session.rollback()


def follows() -> list[tuple[str, str, str | None]]:
    fresh()
    rows = db.session.execute(select(Follow)).scalars()
    return [(row.account.uri, row.target_account.uri, row.uri) for row in rows]


def remote_statuses() -> list[Status]:
    fresh()
    return list(db.session.scalars(select(Status).where(Status.local.is_(False))))


def count(model: type) -> int:
    fresh()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def assert_nothing_followed(remote: FakeRemote) -> None:
    settle(current_app._get_current_object())  # type: ignore[attr-defined]
    assert follows() == []
    assert count(FollowRequest) == 0
    assert remote.received("/users/bob/inbox") == []


# -- accepted ------------------------------------------------------------------------


def test_signed_follow_of_an_unlocked_account_is_accepted_and_followed(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    activity = follow_of(bob)
    assert deliver(client, bob, activity) == 202

    assert follows() == [(bob.uri, alice.uri, activity["id"])]
    stored = accounts.find_by_uri(bob.uri)
    assert stored is not None and not stored.local
    assert (stored.username, stored.domain, stored.inbox_url) == ("bob", remote.origin[7:], bob.inbox)
    assert stored.public_key == bob.public_pem
    db.session.refresh(alice)
    assert alice.followers_count == 1
    accepts = remote.received("/users/bob/inbox")
    assert [a["type"] for a in accepts] == ["Accept"]
    assert accepts[0]["actor"] == alice.uri
    assert accepts[0]["object"]["id"] == activity["id"]


def test_the_same_follow_delivered_twice_is_one_follow(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    activity = follow_of(bob)
    assert deliver(client, bob, activity) == 202
    assert deliver(client, bob, activity) == 202

    assert follows() == [(bob.uri, alice.uri, activity["id"])]
    db.session.refresh(alice)
    assert alice.followers_count == 1
    assert [a["type"] for a in remote.received("/users/bob/inbox")] == ["Accept", "Accept"]  # as Mastodon


def test_the_shared_inbox_takes_a_follow_too(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    assert deliver(client, bob, follow_of(bob), path="/inbox") == 202
    assert [(follower, target) for follower, target, _ in follows()] == [(bob.uri, alice.uri)]


def test_an_rfc9421_signed_follow_is_accepted(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    body = encode(follow_of(bob))
    headers = sign_rfc9421("POST", BASE_URL + ALICE_INBOX, {"Content-Type": AP}, body, bob.key_id, bob.private_pem)
    assert "Signature-Input" in headers
    assert post(client, body, headers) == 202
    settle(client.application)
    assert [(follower, target) for follower, target, _ in follows()] == [(bob.uri, alice.uri)]


def test_a_hand_made_signature_over_the_usual_headers_is_accepted(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    """The control for the digest-less signature below: the helper itself signs correctly."""
    body = encode(follow_of(bob))
    covered = ["(request-target)", "host", "date", "digest", "content-type"]
    assert post(client, body, hand_signed(bob, body, covered)) == 202
    settle(client.application)
    assert len(follows()) == 1


def test_signed_for_a_query_string_and_posted_with_it_is_accepted(
    client: FlaskClient, remote: FakeRemote, bob: Remote
) -> None:
    body = encode(follow_of(bob))
    path = ALICE_INBOX + "?page=1"
    assert post(client, body, signed(bob, body, path=path), path) == 202


# -- refused by the signature --------------------------------------------------------


def test_a_key_that_verified_lately_is_trusted_without_a_query(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    import threading

    from sqlalchemy import event

    assert deliver(client, bob, follow_of(bob)) == 202  # bob's key fetched and stored, then kept
    here = threading.get_ident()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == here:  # the request's, not the job threads'
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        body = encode(follow_of(bob, n=2))
        assert post(client, body, signed(bob, body, path="/inbox"), "/inbox") == 202
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements == []  # the shared inbox's (a personal one reads its account)


def test_a_kept_key_is_read_again_when_its_time_is_up_however_often_it_is_used(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    from sqlalchemy import event

    from fedikit.plugins.activitypub import inbox

    monkeypatch.setattr(inbox, "KEYS_KEPT_FOR", 0.5)
    here = threading.get_ident()
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == here:
            statements.append(statement)

    reading: list[bool] = []
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for n in range(4):  # at 0, 0.2, 0.4 (kept) and 0.6 s (its time is up)
            statements.clear()
            body = encode(follow_of(bob, n=n))
            assert post(client, body, signed(bob, body, path="/inbox"), "/inbox") == 202
            reading.append(bool(statements))
            if n < 3:
                time.sleep(0.2)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert reading == [True, False, False, True]


def test_a_kept_key_replaced_by_its_actor_is_fetched_anew_and_the_old_one_refused(
    client: FlaskClient, remote: FakeRemote, alice: Account
) -> None:
    from fedikit.plugins.activitypub.signatures import generate_key_pair

    dave = remote.person("dave")
    assert deliver(client, dave, follow_of(dave)) == 202  # dave's first key kept
    private_pem, public_pem = generate_key_pair()
    rotated = Remote(dave.uri, private_pem, public_pem)
    remote.documents["/users/dave"] = rotated.document()
    body = encode(follow_of(dave, n=2))
    assert post(client, body, signed(rotated, body)) == 202
    assert remote.fetched.count("/users/dave") == 2  # fetched again once, for the new key
    assert refused(client, body, signed(dave, body))[0] == 401


def test_unsigned_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    body = encode(follow_of(bob))
    assert refused(client, body, {}) == (401, "Request not signed")
    assert_nothing_followed(remote)
    assert accounts.find_by_uri(bob.uri) is None  # nothing was even fetched


def test_signed_with_another_key_than_the_actors_is_401(
    client: FlaskClient, remote: FakeRemote, bob: Remote, carol: Remote
) -> None:
    body = encode(follow_of(bob))
    status, reason = refused(client, body, signed(bob, body, private_pem=carol.private_pem))
    assert (status, reason) == (401, f"Verification failed for {bob.key_id}: the signature does not match the key")
    assert_nothing_followed(remote)


def test_body_changed_after_signing_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    headers = signed(bob, encode(follow_of(bob, n=1)))
    status, reason = refused(client, encode(follow_of(bob, n=2)), headers)
    assert status == 401 and reason.startswith("Invalid Digest value"), reason
    assert_nothing_followed(remote)


def test_signature_not_covering_the_digest_on_a_post_is_401(
    client: FlaskClient, remote: FakeRemote, bob: Remote
) -> None:
    body = encode(follow_of(bob))
    headers = hand_signed(bob, body, ["(request-target)", "host", "date", "content-type"])
    assert "Digest" in headers  # sent, correct, but not signed
    status, reason = refused(client, body, headers)
    assert (status, reason) == (401, "Mastodon requires the Digest header to be signed when doing a POST request")
    assert_nothing_followed(remote)


@pytest.mark.parametrize("hours", [-2, 2], ids=["stale", "future"])
def test_date_outside_the_window_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote, hours: int) -> None:
    body = encode(follow_of(bob))
    now = datetime.now(UTC) + timedelta(hours=hours)
    status, reason = refused(client, body, signed(bob, body, now=now))
    assert status == 401 and reason.startswith("Signed request date outside acceptable time window"), reason
    assert_nothing_followed(remote)


def test_date_within_the_window_is_accepted(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    """The control for the window: 30 minutes either way is within Mastodon's margins."""
    for minutes in (-30, 30):
        body = encode(follow_of(bob, n=minutes))
        now = datetime.now(UTC) + timedelta(minutes=minutes)
        assert post(client, body, signed(bob, body, now=now)) == 202


@pytest.mark.parametrize(
    ("signed_for", "method", "posted_to"),
    [
        ("/inbox", "POST", ALICE_INBOX),
        (ALICE_INBOX, "PUT", ALICE_INBOX),
        (ALICE_INBOX + "?page=1", "POST", ALICE_INBOX + "?page=2"),
    ],
    ids=["another-path", "another-method", "another-query"],
)
def test_signed_for_another_request_is_401(
    client: FlaskClient, remote: FakeRemote, bob: Remote, signed_for: str, method: str, posted_to: str
) -> None:
    body = encode(follow_of(bob))
    headers = signed(bob, body, path=signed_for, method=method)
    status, reason = refused(client, body, headers, posted_to)
    assert (status, reason) == (401, f"Verification failed for {bob.key_id}: the signature does not match the key")
    assert_nothing_followed(remote)


def test_unknown_algorithm_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    body = encode(follow_of(bob))
    headers = signed(bob, body)
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    headers["Signature"] = headers["Signature"].replace('algorithm="rsa-sha256"', 'algorithm="rsa-sha512"')
    status, reason = refused(client, body, headers)
    assert (status, reason) == (401, "Unsupported signature algorithm 'rsa-sha512' (only rsa-sha256 and hs2019)")
    assert_nothing_followed(remote)


def test_key_whose_actor_is_not_found_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    ghost = Remote(f"{remote.origin}/users/ghost", bob.private_pem, bob.public_pem)  # 404 on the server
    body = encode(follow_of(ghost))
    assert refused(client, body, signed(ghost, body)) == (401, f"Unable to fetch key {ghost.key_id}")
    assert_nothing_followed(remote)
    assert accounts.find_by_uri(ghost.uri) is None


def test_signer_who_is_not_the_activitys_actor_is_401(
    client: FlaskClient, remote: FakeRemote, bob: Remote, carol: Remote
) -> None:
    body = encode(follow_of(carol))  # carol's Follow, signed (validly) by bob
    status, reason = refused(client, body, signed(bob, body))
    assert (status, reason) == (401, f"Signed by {bob.uri}, not by the activity's actor")
    settle(client.application)
    assert follows() == []
    assert count(FollowRequest) == 0
    assert remote.received("/users/carol/inbox") == []


# -- refused by the body -------------------------------------------------------------


def test_body_over_one_megabyte_is_413(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    activity = {**follow_of(bob), "padding": "x" * MAX_BODY}
    body = encode(activity)
    assert len(body) > MAX_BODY
    assert refused(client, body, signed(bob, body)) == (413, "Payload too large")
    assert_nothing_followed(remote)
    assert accounts.find_by_uri(bob.uri) is None


def test_body_of_exactly_one_megabyte_is_not_413(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    activity = follow_of(bob)
    activity["padding"] = ""
    activity["padding"] = "x" * (MAX_BODY - len(encode(activity)))
    body = encode(activity)
    assert len(body) == MAX_BODY
    assert post(client, body, signed(bob, body)) == 202


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b'{"type": "Follow"', b"\xff\xfe"],
    ids=["garbage", "empty", "truncated", "not-utf8"],
)
def test_invalid_json_is_400(client: FlaskClient, remote: FakeRemote, bob: Remote, body: bytes) -> None:
    assert refused(client, body, signed(bob, body)) == (400, "Error parsing JSON")
    assert_nothing_followed(remote)
    assert accounts.find_by_uri(bob.uri) is None  # refused before the signature was looked at


@pytest.mark.parametrize(
    "document",
    [[{"type": "Follow"}], "Follow", 42, None, {"id": "x", "actor": "y"}, {"type": 7}, {"type": None}],
    ids=["array", "string", "number", "null", "no-type", "numeric-type", "null-type"],
)
def test_json_that_is_not_an_activity_is_400(
    client: FlaskClient, remote: FakeRemote, bob: Remote, document: Any
) -> None:
    body = encode(document)
    assert refused(client, body, signed(bob, body)) == (400, "Not an activity")
    assert_nothing_followed(remote)


def test_unknown_local_inbox_is_404(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    body = encode(follow_of(bob, f"{BASE_URL}/users/nobody"))
    path = "/users/nobody/inbox"
    assert post(client, body, signed(bob, body, path=path), path) == 404
    assert_nothing_followed(remote)


# -- Create: what the job stores -------------------------------------------------------


@pytest.fixture
def alice_follows_bob(client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account) -> Account:
    """alice follows bob: her Follow is delivered to the fake server and bob's Accept comes back signed."""
    from fedikit.plugins.activitypub import remote as ap_remote

    stored = ap_remote.actor(bob.uri)
    relationships.follow(alice, stored)
    settle(client.application)
    sent = remote.received("/users/bob/inbox")
    assert [a["type"] for a in sent] == ["Follow"]
    accept = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{bob.uri}#accepts/follows/1",
        "type": "Accept",
        "actor": bob.uri,
        "object": sent[0],
    }
    assert deliver(client, bob, accept) == 202
    assert [(follower, target) for follower, target, _ in follows()] == [(alice.uri, bob.uri)]
    return stored


def test_create_of_a_public_note_by_a_followed_actor_is_stored_sanitised(
    client: FlaskClient, bob: Remote, alice_follows_bob: Account
) -> None:
    content = '<p>Hello <script>alert("pwned")</script><b onclick="evil()">world</b></p>'
    note = note_by(bob, content)
    assert deliver(client, bob, create_of(bob, note)) == 202

    found = statuses.find_by_uri(note["id"])
    assert found is not None
    assert (found.account.uri, found.visibility, found.local) == (bob.uri, "public", False)
    assert "Hello" in found.content and "world" in found.content
    assert "<script" not in found.content and "alert" not in found.content
    assert "onclick" not in found.content and "evil" not in found.content


def test_create_delivered_twice_is_one_status(client: FlaskClient, bob: Remote, alice_follows_bob: Account) -> None:
    activity = create_of(bob, note_by(bob))
    assert deliver(client, bob, activity) == 202
    assert deliver(client, bob, activity) == 202
    assert [s.uri for s in remote_statuses()] == [activity["object"]["id"]]


def test_activities_run_as_one_batch_are_handled_in_order_and_counted(
    client: FlaskClient, bob: Remote, alice_follows_bob: Account
) -> None:
    """What a queue hands the ``activitypub.process`` job when a burst left many waiting: the new notes are
    stored together, each once, and counted; other activities run after the notes received before them."""
    parent = note_by(bob, n=10)
    assert deliver(client, bob, create_of(bob, parent, n=10)) == 202
    replies = [create_of(bob, note_by(bob, n=n, inReplyTo=parent["id"]), n=n) for n in (11, 12)]
    gone = create_of(bob, note_by(bob, n=13), n=13)
    delete = {"id": f"{bob.uri}#delete-13", "type": "Delete", "actor": bob.uri, "object": gone["object"]["id"]}
    _run_as_one_batch(client, bob, [*replies, gone, replies[0], delete, create_of(bob, note_by(bob, n=14), n=14)])

    stored = {s.uri.rsplit("/", 1)[1]: s for s in remote_statuses()}
    assert sorted(stored) == ["10", "11", "12", "14"]
    assert stored["10"].replies_count == 2
    assert stored["11"].in_reply_to_id == stored["10"].id
    author = accounts.find_by_uri(bob.uri)
    assert author is not None and author.statuses_count == 4


def _run_as_one_batch(client: FlaskClient, actor: Remote, activities: list[dict[str, Any]]) -> None:
    from fedikit.core import jobs
    from fedikit.plugin_api import Job

    items = [{"activity": activity, "actor": actor.uri} for activity in activities]
    jobs.run(client.application, Job(name="activitypub.process", args=items[0], batched=items, queue="ingress"))
    settle(client.application)


def test_a_reply_to_a_note_of_the_same_batch_is_threaded_without_a_fetch(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice_follows_bob: Account
) -> None:
    parent = note_by(bob, n=20)
    reply = note_by(bob, n=21, inReplyTo=parent["id"])
    _run_as_one_batch(client, bob, [create_of(bob, parent, n=20), create_of(bob, reply, n=21)])
    stored = {s.uri: s for s in remote_statuses()}
    assert stored[reply["id"]].in_reply_to_id == stored[parent["id"]].id
    assert "/users/bob/statuses/20" not in remote.fetched


def test_an_activity_that_fails_in_a_batch_is_retried_alone_and_the_done_ones_are_not_run_again(
    client: FlaskClient, bob: Remote, alice_follows_bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedikit.plugins.activitypub import handlers

    flags: list[str] = []

    def flag_failing_once(activity: dict[str, Any], actor: Account) -> None:
        flags.append(activity["id"])
        if len(flags) == 1:
            raise RuntimeError("a moment's failure")

    monkeypatch.setitem(handlers.HANDLERS, "Flag", flag_failing_once)
    gone = create_of(bob, note_by(bob, n=30), n=30)
    delete = {"id": f"{bob.uri}#delete-30", "type": "Delete", "actor": bob.uri, "object": gone["object"]["id"]}
    flag = {"id": f"{bob.uri}#flag-1", "type": "Flag", "actor": bob.uri, "object": [alice_follows_bob.uri]}
    kept = create_of(bob, note_by(bob, n=31), n=31)
    _run_as_one_batch(client, bob, [gone, delete, flag, kept])
    assert flags == [flag["id"], flag["id"]]  # in the batch, then alone
    assert [s.uri for s in remote_statuses()] == [kept["object"]["id"]]  # the deleted one stays deleted


def test_an_activity_that_always_fails_is_given_up_after_the_queues_tries(
    client: FlaskClient, bob: Remote, alice_follows_bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queued again alone, it fails as a job of its own, which the queue retries on its schedule and then drops:
    a poisonous activity does not keep a worker busy for ever."""
    from fedikit.plugins.activitypub import handlers

    flags: list[str] = []

    def flag_failing(activity: dict[str, Any], actor: Account) -> None:
        flags.append(activity["id"])
        raise RuntimeError("a bug this activity trips every time")

    monkeypatch.setitem(handlers.HANDLERS, "Flag", flag_failing)
    flag = {"id": f"{bob.uri}#flag-3", "type": "Flag", "actor": bob.uri, "object": [alice_follows_bob.uri]}
    kept = create_of(bob, note_by(bob, n=60), n=60)
    _run_as_one_batch(client, bob, [flag, kept])
    assert len(flags) == 1 + 16  # in the batch, then a job of its own tried 16 times
    assert [s.uri for s in remote_statuses()] == [kept["object"]["id"]]


def test_a_batch_out_of_time_queues_what_it_did_not_do_and_nothing_else(
    client: FlaskClient, bob: Remote, alice_follows_bob: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fedikit.plugin_api import JobTimeout
    from fedikit.plugins.activitypub import handlers

    runs: list[str] = []

    def flag_out_of_time_once(activity: dict[str, Any], actor: Account) -> None:
        runs.append(activity["id"])
        if len(runs) == 1:
            raise JobTimeout("the job's time is up")

    monkeypatch.setitem(handlers.HANDLERS, "Flag", flag_out_of_time_once)
    first, last = (create_of(bob, note_by(bob, n=n), n=n) for n in (40, 41))
    flag = {"id": f"{bob.uri}#flag-2", "type": "Flag", "actor": bob.uri, "object": [alice_follows_bob.uri]}
    _run_as_one_batch(client, bob, [first, flag, last])
    assert runs == [flag["id"], flag["id"]]  # out of time, then in the new job
    assert sorted(s.uri for s in remote_statuses()) == [first["object"]["id"], last["object"]["id"]]
    author = accounts.find_by_uri(bob.uri)
    assert author is not None and author.statuses_count == 2  # the first note stored once


def test_a_note_whose_delete_came_first_is_not_stored_when_it_comes(
    client: FlaskClient, bob: Remote, carol: Remote, alice_follows_bob: Account
) -> None:
    late = create_of(bob, note_by(bob, n=50), n=50)
    uri = late["object"]["id"]
    delete = {"id": f"{bob.uri}#delete-50", "type": "Delete", "actor": bob.uri, "object": uri}
    assert deliver(client, bob, delete) == 202  # (jobs run in parallel: a Delete may overtake its Create)
    other = create_of(bob, note_by(bob, n=51), n=51)
    carol_delete = {"id": f"{carol.uri}#d-1", "type": "Delete", "actor": carol.uri, "object": other["object"]["id"]}
    assert deliver(client, carol, carol_delete) == 202  # not carol's note: her Delete does not keep bob's out
    assert deliver(client, bob, late) == 202
    _run_as_one_batch(client, bob, [late, other])  # in a batch too
    assert [s.uri for s in remote_statuses()] == [other["object"]["id"]]


def test_create_of_a_note_on_another_host_is_not_stored(
    client: FlaskClient, bob: Remote, alice_follows_bob: Account
) -> None:
    note = note_by(bob, id="http://elsewhere.example/users/bob/statuses/1")
    assert deliver(client, bob, create_of(bob, note)) == 202
    assert remote_statuses() == []
    assert statuses.find_by_uri(note["id"]) is None


def test_create_of_a_note_attributed_to_another_actor_is_not_stored(
    client: FlaskClient, bob: Remote, carol: Remote, alice_follows_bob: Account
) -> None:
    note = note_by(bob, attributedTo=carol.uri)  # bob's host, carol's name on it
    assert deliver(client, bob, create_of(bob, note)) == 202
    assert remote_statuses() == []
    assert accounts.find_by_uri(carol.uri) is None  # and carol was not fetched for it


def test_create_reusing_the_id_of_another_authors_status_changes_nothing(
    client: FlaskClient, bob: Remote, carol: Remote, alice_follows_bob: Account
) -> None:
    carols = note_by(carol, "<p>carol's words</p>")
    assert deliver(client, carol, create_of(carol, carols)) == 202
    before = statuses.find_by_uri(carols["id"])
    assert before is not None and before.account.uri == carol.uri
    before_state = (before.id, before.account_id, before.content, before.uri)

    forged = note_by(bob, "<p>bob's words</p>", id=carols["id"])  # same host, bob's name, carol's id
    assert deliver(client, bob, create_of(bob, forged, n=2)) == 202

    stored = remote_statuses()
    assert len(stored) == 1
    after = stored[0]
    assert (after.id, after.account_id, after.content, after.uri) == before_state
    assert after.account.uri == carol.uri and "carol's words" in after.content


def test_create_reusing_the_id_of_a_local_status_changes_nothing(
    client: FlaskClient, bob: Remote, alice: Account, alice_follows_bob: Account
) -> None:
    mine = statuses.post(alice, "alice's own words")
    before = (mine.id, mine.account_id, mine.content, mine.uri)
    forged = note_by(bob, "<p>bob's words</p>", id=mine.uri)
    assert deliver(client, bob, create_of(bob, forged)) == 202
    fresh()
    after = statuses.find_by_uri(before[3])
    assert after is not None
    assert (after.id, after.account_id, after.content, after.uri) == before
    assert remote_statuses() == []


def test_create_signed_by_someone_else_is_401_and_not_stored(
    client: FlaskClient, bob: Remote, carol: Remote, alice_follows_bob: Account
) -> None:
    body = encode(create_of(bob, note_by(bob)))
    assert refused(client, body, signed(carol, body)) == (401, f"Signed by {carol.uri}, not by the activity's actor")
    settle(client.application)
    assert remote_statuses() == []


# -- RFC 9421 refusals -------------------------------------------------------------------


def rfc9421(signer: Remote, body: bytes, *, path: str = ALICE_INBOX, now: datetime | None = None) -> dict[str, str]:
    return sign_rfc9421("POST", BASE_URL + path, {}, body, signer.key_id, signer.private_pem, now=now)


def test_rfc9421_signed_for_another_path_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    body = encode(follow_of(bob))
    status, reason = refused(client, body, rfc9421(bob, body, path="/inbox"))
    assert (status, reason) == (401, f"Verification failed for {bob.key_id}: the signature does not match the key")
    assert_nothing_followed(remote)


def test_rfc9421_body_changed_after_signing_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    headers = rfc9421(bob, encode(follow_of(bob, n=1)))
    status, reason = refused(client, encode(follow_of(bob, n=2)), headers)
    assert status == 401 and reason.startswith("Invalid Content-Digest value"), reason
    assert_nothing_followed(remote)


def test_rfc9421_stale_signature_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    body = encode(follow_of(bob))
    status, reason = refused(client, body, rfc9421(bob, body, now=datetime.now(UTC) - timedelta(hours=2)))
    assert status == 401 and reason.startswith("Signed request date outside acceptable time window"), reason
    assert_nothing_followed(remote)


def test_rfc9421_signer_who_is_not_the_activitys_actor_is_401(
    client: FlaskClient, remote: FakeRemote, bob: Remote, carol: Remote
) -> None:
    body = encode(follow_of(carol))
    assert refused(client, body, rfc9421(bob, body)) == (401, f"Signed by {bob.uri}, not by the activity's actor")
    assert_nothing_followed(remote)


# -- replays: a captured request made fresh again, or sent to another server -----------------


@pytest.mark.parametrize("forged", ["created", "expires"])
def test_replayed_request_with_unsigned_time_parameters_is_401(
    client: FlaskClient, remote: FakeRemote, bob: Remote, forged: str
) -> None:
    """``created``/``expires`` count only when the signature covers them (``(created)``, ``(expires)``)."""
    body = encode(follow_of(bob))
    signed_at = datetime.now(UTC) - timedelta(hours=3)  # captured 3 hours ago: stale (see the test above)
    headers = signed(bob, body, now=signed_at)
    assert refused(client, body, headers)[0] == 401
    value = datetime.now(UTC) if forged == "created" else signed_at + timedelta(hours=11)
    headers["Signature"] = headers["Signature"].replace(
        'algorithm="rsa-sha256"', f'algorithm="hs2019",{forged}="{int(value.timestamp())}"'
    )
    assert 'headers="(request-target) host date digest content-type"' in headers["Signature"]  # neither is signed
    status, _ = refused(client, body, headers)
    assert status == 401
    assert_nothing_followed(remote)


def test_signed_for_another_server_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    """The signed Host must be this instance's, whatever Host the replayed request carries."""
    body = encode(follow_of(bob))
    other = "https://other.example"
    headers = sign_request("POST", other + ALICE_INBOX, {}, body, bob.key_id, bob.private_pem)
    assert headers["Host"] == "other.example"
    response = client.post(ALICE_INBOX, data=body, headers=headers, base_url=other)
    assert response.status_code == 401
    assert_nothing_followed(remote)


def test_rfc9421_signed_for_another_server_is_401(client: FlaskClient, remote: FakeRemote, bob: Remote) -> None:
    """The RFC 9421 counterpart of the test above, which passes: @target-uri is built from BASE_URL."""
    body = encode(follow_of(bob))
    other = "https://other.example"
    headers = sign_rfc9421("POST", other + ALICE_INBOX, {}, body, bob.key_id, bob.private_pem)
    response = client.post(ALICE_INBOX, data=body, headers={"Content-Type": AP, **headers}, base_url=other)
    assert response.status_code == 401
    assert_nothing_followed(remote)


# -- what other activities do ---------------------------------------------------------------


def _activity(actor: Remote, kind: str, obj: Any, n: int = 1, **fields: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor.uri}#{kind.lower()}/{n}",
        "type": kind,
        "actor": actor.uri,
        "object": obj,
        **fields,
    }


def test_a_deleted_actor_loses_its_follows_and_statuses(
    client: FlaskClient, bob: Remote, alice: Account, alice_follows_bob: Account
) -> None:
    assert deliver(client, bob, follow_of(bob)) == 202  # and bob follows alice
    assert deliver(client, bob, create_of(bob, note_by(bob))) == 202
    assert len(remote_statuses()) == 1
    assert deliver(client, bob, _activity(bob, "Delete", bob.uri, to=[AS_PUBLIC])) == 202
    assert follows() == [] and remote_statuses() == []
    gone = accounts.find_by_uri(bob.uri)
    assert gone.suspended_at is not None and gone.display_name == ""
    db.session.refresh(alice)
    assert (alice.followers_count, alice.following_count) == (0, 0)
    # Whatever it sends later changes nothing.
    assert deliver(client, bob, create_of(bob, note_by(bob, n=2), n=2)) == 202
    assert remote_statuses() == []


def test_a_status_delete_only_by_its_author(
    client: FlaskClient, bob: Remote, carol: Remote, alice_follows_bob: Account
) -> None:
    assert deliver(client, bob, create_of(bob, note_by(bob))) == 202
    note_uri = note_by(bob)["id"]
    assert deliver(client, carol, _activity(carol, "Delete", note_uri)) == 202
    assert [s.uri for s in remote_statuses()] == [note_uri]
    assert deliver(client, bob, _activity(bob, "Delete", {"id": note_uri, "type": "Tombstone"})) == 202
    assert remote_statuses() == []


def test_likes_and_their_undo(client: FlaskClient, bob: Remote, alice: Account) -> None:
    mine = statuses.post(alice, "like me")
    like = _activity(bob, "Like", mine.uri)
    assert deliver(client, bob, like) == 202
    assert deliver(client, bob, like) == 202  # twice: one favourite
    db.session.refresh(mine)
    assert mine.favourites_count == 1
    assert deliver(client, bob, _activity(bob, "Undo", like, n=2)) == 202
    db.session.refresh(mine)
    assert mine.favourites_count == 0


def test_a_block_ends_the_follow_both_ways(client: FlaskClient, bob: Remote, alice: Account) -> None:
    assert deliver(client, bob, follow_of(bob)) == 202
    assert len(follows()) == 1
    assert deliver(client, bob, _activity(bob, "Block", alice.uri)) == 202
    assert follows() == []
    assert count(FollowRequest) == 0


def test_an_unknown_activity_is_accepted_and_counted(client: FlaskClient, bob: Remote) -> None:
    from fedikit.plugins.activitypub.handlers import UNHANDLED

    before = UNHANDLED["Dance"]
    assert deliver(client, bob, _activity(bob, "Dance", bob.uri)) == 202
    assert UNHANDLED["Dance"] == before + 1


def test_a_profile_update_is_applied_only_from_the_actor_itself(
    client: FlaskClient, remote: FakeRemote, bob: Remote, carol: Remote, alice_follows_bob: Account
) -> None:
    renamed = {**bob.document(), "name": "Bobby <script>x</script>", "summary": "<p>new bio</p>"}
    assert deliver(client, carol, _activity(carol, "Update", renamed)) == 202  # carol cannot rename bob
    assert accounts.find_by_uri(bob.uri).display_name == ""
    assert deliver(client, bob, _activity(bob, "Update", renamed)) == 202
    stored = accounts.find_by_uri(bob.uri)
    assert stored.display_name.startswith("Bobby") and stored.note == "<p>new bio</p>"


def test_a_remote_edit_keeps_versions(client: FlaskClient, bob: Remote, alice_follows_bob: Account) -> None:
    assert deliver(client, bob, create_of(bob, note_by(bob, "<p>first</p>"))) == 202
    edited = note_by(bob, "<p>second <script>x</script></p>", updated="2024-01-02T04:00:00Z")
    assert deliver(client, bob, _activity(bob, "Update", edited)) == 202
    [stored] = remote_statuses()
    assert stored.content == "<p>second </p>" and stored.edited_at is not None
    assert [e.content for e in stored.edits] == ["<p>first</p>", "<p>second </p>"]
    older = note_by(bob, "<p>stale</p>", updated="2024-01-02T03:30:00Z")  # arrives late: ignored
    assert deliver(client, bob, _activity(bob, "Update", older, n=2)) == 202
    db.session.refresh(stored)
    assert stored.content == "<p>second </p>"


@pytest.mark.parametrize("severity", ["silence"])
def test_a_silenced_domain_reaches_only_its_followers(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account, severity: str
) -> None:
    from fedikit.core.services import domain_blocks, timelines

    domain_blocks.block(remote.origin.split("//")[1], severity=severity)
    dave = accounts.create_local_account("dave", "dave@example.com", "correct horse battery", confirmed=True).account
    assert deliver(client, bob, follow_of(bob)) == 202  # bob (silenced from the start) follows alice
    bob_here = accounts.find_by_uri(bob.uri)
    assert bob_here.silenced_at is not None
    relationships.follow(dave, bob_here)
    relationships.authorize(bob_here, dave)  # as bob's Accept would
    assert deliver(client, bob, create_of(bob, note_by(bob))) == 202
    [note] = remote_statuses()
    assert [s.id for s in timelines.public(dave)] == [note.id]  # dave follows bob
    assert timelines.public(alice) == [] and timelines.public(None) == []  # alice and strangers do not


def test_a_suspended_domain_is_refused_before_its_key_is_fetched(
    client: FlaskClient, remote: FakeRemote, bob: Remote, alice: Account
) -> None:
    from fedikit.core.services import domain_blocks

    domain_blocks.block(remote.origin.split("//")[1], severity="suspend")
    body = encode(follow_of(bob))
    status, _ = refused(client, body, signed(bob, body))
    assert status == 403
    assert accounts.find_by_uri(bob.uri) is None  # not even fetched
    assert_nothing_followed(remote)


class Biting:
    """A plugin that handles an activity type the ActivityPub plugin does not, and listens to Likes too."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def activity_handlers(self) -> dict[str, Any]:
        def record(activity: dict[str, Any], actor: Account) -> None:
            self.seen.append((activity["type"], actor.uri))

        return {"Bite": record, "Like": record}


BITING = Biting()


@pytest.mark.parametrize("fedikit_plugins", [[BITING]])
def test_hook_activity_handlers(client: FlaskClient, bob: Remote, alice: Account) -> None:
    BITING.seen.clear()
    from fedikit.plugins.activitypub.handlers import UNHANDLED

    before = UNHANDLED["Bite"]
    assert deliver(client, bob, _activity(bob, "Bite", alice.uri)) == 202
    mine = statuses.post(alice, "like me")
    assert deliver(client, bob, _activity(bob, "Like", mine.uri, n=2)) == 202
    assert BITING.seen == [("Bite", bob.uri), ("Like", bob.uri)]
    assert UNHANDLED["Bite"] == before  # handled, by the plugin
    db.session.refresh(mine)
    assert mine.favourites_count == 1  # the bundled handler ran first


def _stored(client: FlaskClient, url: str) -> bytes:
    """A stored file's bytes, as a reader's app gets them: from this server, or from its object storage."""
    import urllib.request

    if url.startswith(BASE_URL):
        return client.get(url.removeprefix(BASE_URL)).data
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_custom_emojis_of_a_remote_post(
    fedikit_app: Flask,
    client: FlaskClient,
    remote: FakeRemote,
    bob: Remote,
    alice: Account,
    alice_follows_bob: Account,
) -> None:
    """An emoji is shown once its image is copied here (readers never load it from the other server); one
    whose image is no image is not shown."""
    import io

    from PIL import Image

    from fedikit.core.api.serializers.statuses import status as status_entity

    png = io.BytesIO()
    Image.new("RGBA", (32, 32), (250, 200, 0, 255)).save(png, "PNG")
    remote.files["/emoji/blob.png"] = ("image/png", png.getvalue())
    remote.files["/emoji/fake.png"] = ("image/png", b"<svg onload=alert(1)>")
    blob = {"type": "Emoji", "name": ":blob:", "icon": {"type": "Image", "url": f"{remote.origin}/emoji/blob.png"}}
    fake = {"type": "Emoji", "name": ":fake:", "icon": {"type": "Image", "url": f"{remote.origin}/emoji/fake.png"}}
    evil = {"type": "Emoji", "name": ":x:", "icon": {"url": "javascript:alert(1)"}}  # no usable image: ignored
    note = note_by(bob, "<p>hello :blob: :fake: and :unknown:</p>", tag=[blob, fake, evil])
    assert deliver(client, bob, create_of(bob, note)) == 202
    settle(fedikit_app)
    [stored] = remote_statuses()
    [shown] = status_entity(alice, stored)["emojis"]
    assert shown["shortcode"] == "blob" and shown["visible_in_picker"] is False and shown["category"] is None
    assert remote.origin not in shown["url"] and remote.origin not in shown["static_url"]  # copies of ours
    assert _stored(client, shown["url"]) == png.getvalue()  # kept as it is
    assert Image.open(io.BytesIO(_stored(client, shown["static_url"]))).format == "PNG"
    assert remote.fetched.count("/emoji/blob.png") == 1
    local = statuses.post(alice, "my own :blob: is just text")
    assert status_entity(alice, local)["emojis"] == []  # another server's emoji is not ours
