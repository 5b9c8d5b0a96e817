"""Editing statuses (history, source), pins, conversation mutes and Idempotency-Key, through HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest
from contract import validate, validate_list
from flask.testing import FlaskClient

from fedikit.core.db import db
from fedikit.core.models import MediaAttachment
from fedikit.core.services import statuses as status_service

pytestmark = pytest.mark.usefixtures("delayed_jobs")  # delayed jobs (a poll's end) are not run here


def post(client: FlaskClient, user: Any, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/statuses", data={"status": text, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json


def media_for(user: Any) -> int:
    media = MediaAttachment(account_id=user.account.id, type="image", remote_url="https://example.com/a.png")
    db.session.add(media)
    db.session.commit()
    return media.id


# -- edits


def test_edit_history_and_source(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    status = post(fedikit_client, alice, "first version", language="en")
    history = fedikit_client.get(f"/api/v1/statuses/{status['id']}/history")
    assert history.status_code == 200
    validate_list(history.json, "StatusEdit")
    assert len(history.json) == 1  # never edited: the status itself
    assert "first version" in history.json[0]["content"]

    edited = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "second version", "spoiler_text": "cw"},
        headers=alice.headers,
    )
    assert edited.status_code == 200, edited.text
    validate(edited.json, "Status")
    assert edited.json["edited_at"] is not None and "second version" in edited.json["content"]
    assert edited.json["spoiler_text"] == "cw" and edited.json["sensitive"] is True
    assert edited.json["language"] == "en"  # kept when not sent
    fedikit_client.put(f"/api/v1/statuses/{status['id']}", json={"status": "third version"}, headers=alice.headers)

    history = fedikit_client.get(f"/api/v1/statuses/{status['id']}/history", headers=alice.headers).json
    validate_list(history, "StatusEdit")
    assert [("first" in h["content"], "second" in h["content"], "third" in h["content"]) for h in history] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    assert history[0]["created_at"] == status["created_at"]  # the original is dated when it was posted
    assert [h["created_at"] for h in history] == sorted(h["created_at"] for h in history)

    source = fedikit_client.get(f"/api/v1/statuses/{status['id']}/source", headers=alice.headers)
    assert source.status_code == 200
    validate(source.json, "StatusSource")
    assert source.json == {"id": status["id"], "text": "third version", "spoiler_text": ""}


def test_an_edit_that_changes_nothing_keeps_no_version(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    status = post(fedikit_client, alice, "same")
    again = fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": "same"}, headers=alice.headers)
    assert again.status_code == 200 and again.json["edited_at"] is None
    assert len(fedikit_client.get(f"/api/v1/statuses/{status['id']}/history").json) == 1


def test_others_cannot_edit_or_read_the_source(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post(fedikit_client, alice, "mine")
    secret = post(fedikit_client, alice, "only me and mentioned", visibility="direct")
    edit = fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": "hijacked"}, headers=bob.headers)
    assert edit.status_code == 404
    assert fedikit_client.get(f"/api/v1/statuses/{status['id']}/source", headers=bob.headers).status_code == 404
    assert fedikit_client.get(f"/api/v1/statuses/{secret['id']}/source", headers=bob.headers).status_code == 404
    assert fedikit_client.get(f"/api/v1/statuses/{secret['id']}/history", headers=bob.headers).status_code == 404
    assert fedikit_client.get(f"/api/v1/statuses/{status['id']}/source").status_code == 401
    assert fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": "x"}).status_code == 401
    assert "hijacked" not in fedikit_client.get(f"/api/v1/statuses/{status['id']}").json["content"]
    boost = fedikit_client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers).json
    assert (
        fedikit_client.put(f"/api/v1/statuses/{boost['id']}", data={"status": "x"}, headers=bob.headers).status_code
        == 404
    )


def test_edit_refuses_what_posting_refuses(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    status = post(fedikit_client, alice, "text")
    assert (
        fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": ""}, headers=alice.headers).status_code
        == 422
    )
    too_long = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}", data={"status": "x" * 100_000}, headers=alice.headers
    )
    assert too_long.status_code == 422
    media = media_for(alice)
    both = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "x", "media_ids[]": [str(media)], "poll[options][]": ["a", "b"], "poll[expires_in]": "600"},
        headers=alice.headers,
    )
    assert both.status_code == 422


def test_edit_media_replaces_the_attachments(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    first, second = media_for(alice), media_for(alice)
    status = post(fedikit_client, alice, "pictures", **{"media_ids[]": [str(first)]})
    edited = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "pictures", "media_ids[]": [str(second)]},
        headers=alice.headers,
    ).json
    assert [m["id"] for m in edited["media_attachments"]] == [str(second)]
    history = fedikit_client.get(f"/api/v1/statuses/{status['id']}/history").json
    validate_list(history, "StatusEdit")
    assert [[m["id"] for m in h["media_attachments"]] for h in history] == [[str(first)], [str(second)]]
    cleared = fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": "none"}, headers=alice.headers)
    assert cleared.json["media_attachments"] == []  # the request is the whole new state, as in Mastodon


def test_editing_a_poll_resets_its_votes(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post(fedikit_client, alice, "vote", **{"poll[options][]": ["a", "b"], "poll[expires_in]": "3600"})
    poll_id = status["poll"]["id"]
    fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}, headers=bob.headers)

    same = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "vote!", "poll[options][]": ["a", "b"], "poll[expires_in]": "7200"},
        headers=alice.headers,
    ).json
    assert same["poll"]["votes_count"] == 1  # the same options keep their votes

    changed = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "vote again", "poll": {"options": ["a", "b", "c"], "expires_in": 3600}},
        headers=alice.headers,
    )
    assert changed.status_code == 200, changed.text
    validate(changed.json, "Status")
    poll = changed.json["poll"]
    assert poll["id"] == poll_id
    assert [o["title"] for o in poll["options"]] == ["a", "b", "c"]
    assert poll["votes_count"] == 0 and poll["voters_count"] == 0
    assert [o["votes_count"] for o in poll["options"]] == [0, 0, 0]
    by_bob = fedikit_client.get(f"/api/v1/polls/{poll_id}", headers=bob.headers).json
    assert by_bob["voted"] is False and by_bob["own_votes"] == []
    assert (
        fedikit_client.post(
            f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["2"]}, headers=bob.headers
        ).status_code
        == 200
    )

    history = fedikit_client.get(f"/api/v1/statuses/{status['id']}/history").json
    validate_list(history, "StatusEdit")
    assert [[o["title"] for o in h["poll"]["options"]] for h in history] == [["a", "b"], ["a", "b"], ["a", "b", "c"]]

    hostile = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "x", "poll[options][]": ["1", "2", "3", "4", "5"], "poll[expires_in]": "3600"},
        headers=alice.headers,
    )
    assert hostile.status_code == 422

    removed = fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": "no poll"}, headers=alice.headers)
    assert removed.json["poll"] is None
    assert fedikit_client.get(f"/api/v1/polls/{poll_id}").status_code == 404
    added = fedikit_client.put(
        f"/api/v1/statuses/{status['id']}",
        data={"status": "poll again", "poll[options][]": ["x", "y"], "poll[expires_in]": "600"},
        headers=alice.headers,
    ).json
    validate(added["poll"], "Poll")


def test_boosters_hear_of_an_edit(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post(fedikit_client, alice, "boost me")
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)
    fedikit_client.put(f"/api/v1/statuses/{status['id']}", data={"status": "boosted, edited"}, headers=alice.headers)
    types = [n["type"] for n in fedikit_client.get("/api/v1/notifications", headers=bob.headers).json]
    assert types == ["update"]


# -- pins


def test_pins(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    ids = [
        post(fedikit_client, alice, f"post {i}", visibility=v)["id"]
        for i, v in enumerate(["public", "unlisted", "private", "public", "public", "public"])
    ]
    for status_id in ids[:5]:
        pinned = fedikit_client.post(f"/api/v1/statuses/{status_id}/pin", headers=alice.headers)
        assert pinned.status_code == 200, pinned.text
        validate(pinned.json, "Status")
        assert pinned.json["pinned"] is True
    assert fedikit_client.post(f"/api/v1/statuses/{ids[0]}/pin", headers=alice.headers).status_code == 200  # again
    sixth = fedikit_client.post(f"/api/v1/statuses/{ids[5]}/pin", headers=alice.headers)
    assert sixth.status_code == 422

    listed = fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses?pinned=true", headers=alice.headers).json
    assert sorted(s["id"] for s in listed) == sorted(ids[:5])
    public_view = fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses?pinned=true").json
    assert sorted(s["id"] for s in public_view) == sorted([ids[0], ids[1], ids[3], ids[4]])  # not the private one
    assert "pinned" not in public_view[0]
    assert "pinned" not in fedikit_client.get(f"/api/v1/statuses/{ids[0]}", headers=bob.headers).json

    unpinned = fedikit_client.post(f"/api/v1/statuses/{ids[0]}/unpin", headers=alice.headers)
    assert unpinned.status_code == 200 and unpinned.json["pinned"] is False
    assert fedikit_client.post(f"/api/v1/statuses/{ids[5]}/pin", headers=alice.headers).status_code == 200


def test_what_cannot_be_pinned(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    theirs = post(fedikit_client, bob, "bob's")
    assert fedikit_client.post(f"/api/v1/statuses/{theirs['id']}/pin", headers=alice.headers).status_code == 422
    direct = post(fedikit_client, alice, "@bob psst", visibility="direct")
    assert fedikit_client.post(f"/api/v1/statuses/{direct['id']}/pin", headers=alice.headers).status_code == 422
    boost = fedikit_client.post(f"/api/v1/statuses/{theirs['id']}/reblog", headers=alice.headers).json
    assert fedikit_client.post(f"/api/v1/statuses/{boost['id']}/pin", headers=alice.headers).status_code == 422
    hidden = post(fedikit_client, bob, "followers", visibility="private")
    assert fedikit_client.post(f"/api/v1/statuses/{hidden['id']}/pin", headers=alice.headers).status_code == 404
    read_only = make_api_user("carol", scopes="read")
    mine = post(fedikit_client, make_api_user("dave"), "x")
    assert fedikit_client.post(f"/api/v1/statuses/{mine['id']}/pin", headers=read_only.headers).status_code == 403


# -- conversation mutes


def test_mute_a_conversation(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    root = post(fedikit_client, alice, "a thread, @bob")
    muted = fedikit_client.post(f"/api/v1/statuses/{root['id']}/mute", headers=alice.headers)
    assert muted.status_code == 200, muted.text
    validate(muted.json, "Status")
    assert muted.json["muted"] is True
    assert fedikit_client.post(f"/api/v1/statuses/{root['id']}/mute", headers=alice.headers).status_code == 200

    reply = post(fedikit_client, bob, "@alice a reply", in_reply_to_id=root["id"])
    fedikit_client.post(f"/api/v1/statuses/{root['id']}/favourite", headers=carol.headers)
    fedikit_client.post(f"/api/v1/statuses/{root['id']}/reblog", headers=carol.headers)
    assert fedikit_client.get("/api/v1/notifications", headers=alice.headers).json == []
    assert fedikit_client.get(f"/api/v1/statuses/{reply['id']}", headers=alice.headers).json["muted"] is True

    # bob is mentioned: a participant, who may mute too
    assert fedikit_client.post(f"/api/v1/statuses/{reply['id']}/mute", headers=bob.headers).status_code == 200
    # carol only favourited: not a participant
    assert fedikit_client.post(f"/api/v1/statuses/{root['id']}/mute", headers=carol.headers).status_code == 422
    assert fedikit_client.post(f"/api/v1/statuses/{root['id']}/unmute", headers=carol.headers).status_code == 422

    unmuted = fedikit_client.post(f"/api/v1/statuses/{root['id']}/unmute", headers=alice.headers)
    assert unmuted.status_code == 200 and unmuted.json["muted"] is False
    post(fedikit_client, bob, "@alice again", in_reply_to_id=root["id"])
    assert [n["type"] for n in fedikit_client.get("/api/v1/notifications", headers=alice.headers).json] == ["mention"]


def test_mute_needs_to_see_the_status(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    hidden = post(fedikit_client, alice, "just me", visibility="direct")
    assert fedikit_client.post(f"/api/v1/statuses/{hidden['id']}/mute", headers=bob.headers).status_code == 404
    assert fedikit_client.post(f"/api/v1/statuses/{hidden['id']}/mute").status_code == 401


# -- Idempotency-Key


def test_idempotency_key(fedikit_client: FlaskClient, make_api_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_service.IDEMPOTENCY, "TTL", 60)  # ample on a loaded machine
    alice, bob = make_api_user("alice"), make_api_user("bob")

    def send(user: Any, key: str, text: str) -> dict[str, Any]:
        headers = {**user.headers, "Idempotency-Key": key}
        response = fedikit_client.post("/api/v1/statuses", data={"status": text}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json

    first = send(alice, "key-1", "hello")
    again = send(alice, "key-1", "hello (sent twice)")
    assert again["id"] == first["id"] and "sent twice" not in again["content"]
    validate(again, "Status")
    assert send(alice, "key-2", "hello")["id"] != first["id"]
    assert send(bob, "key-1", "bob's")["id"] != first["id"]  # keys are per account
    assert len(fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses").json) == 2

    monkeypatch.setattr(status_service.IDEMPOTENCY, "TTL", 1)
    short = send(alice, "key-3", "kept a second")
    time.sleep(1.1)  # the key's time (an hour, a second here) has passed
    assert send(alice, "key-3", "later")["id"] != short["id"]
