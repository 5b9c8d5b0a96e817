"""Polls through HTTP, as a client uses them: posting one, reading it, voting, and being told when it ends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from contract import validate, validate_list
from delayed import run_delayed, travel
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.db import db, utcnow
from fedikit.core.services import polls as poll_service
from fedikit.plugin_api import Job

pytestmark = pytest.mark.usefixtures("delayed_jobs")


def post_poll(client: FlaskClient, user: Any, **poll: Any) -> Any:
    data: dict[str, Any] = {"status": "which one?", "poll[options][]": ["tea", "coffee", "water"]}
    data["poll[expires_in]"] = "3600"
    data.update({f"poll[{k}]": v for k, v in poll.items()})
    return client.post("/api/v1/statuses", data=data, headers=user.headers)


def test_post_a_poll_with_a_form_and_read_it(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    response = post_poll(fedikit_client, alice)
    assert response.status_code == 200, response.text
    validate(response.json, "Status")
    poll = response.json["poll"]
    validate(poll, "Poll")
    assert [o["title"] for o in poll["options"]] == ["tea", "coffee", "water"]
    assert [o["votes_count"] for o in poll["options"]] == [0, 0, 0]
    assert poll["multiple"] is False and poll["expired"] is False
    assert poll["voted"] is True and poll["own_votes"] == []  # the author counts as having voted, as in Mastodon
    ends = dt.datetime.fromisoformat(poll["expires_at"].replace("Z", "+00:00"))
    assert abs((ends - utcnow()).total_seconds() - 3600) < 60
    anonymous = fedikit_client.get(f"/api/v1/polls/{poll['id']}")
    assert anonymous.status_code == 200
    validate(anonymous.json, "Poll")
    assert "voted" not in anonymous.json and "own_votes" not in anonymous.json
    shown = fedikit_client.get(f"/api/v1/statuses/{response.json['id']}").json
    assert shown["poll"]["id"] == poll["id"]


def test_post_a_poll_as_json(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    response = fedikit_client.post(
        "/api/v1/statuses",
        json={
            "status": "pick any",
            "poll": {"options": ["a", "b"], "expires_in": 300, "multiple": True, "hide_totals": True},
        },
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    poll = response.json["poll"]
    validate(poll, "Poll")
    assert poll["multiple"] is True
    assert [o["votes_count"] for o in poll["options"]] == [None, None]  # hidden until the end


def test_instance_announces_the_limits_enforced(fedikit_client: FlaskClient) -> None:
    announced = fedikit_client.get("/api/v2/instance").json["configuration"]["polls"]
    assert announced == poll_service.LIMITS


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"poll[options][]": ["a", "b", "c", "d", "e"]}, "more than 4"),
        ({"poll[options][]": ["a" * 51, "b"]}, "longer than 50"),
        ({"poll[options][]": ["x" * 200, "b"]}, "longer than 50"),
        ({"poll[options][]": ["only"]}, "at least 2"),
        ({"poll[options][]": ["same", "same"]}, "duplicate"),
        ({"poll[options][]": ["a", "  "]}, "at least 2"),
        ({"poll[expires_in]": "10"}, "too short"),
        ({"poll[expires_in]": "299"}, "too short"),
        ({"poll[expires_in]": "2629747"}, "too long"),
        ({"poll[expires_in]": "soon"}, "whole number"),
        ({"poll[expires_in]": ""}, "blank"),
    ],
)
def test_hostile_polls_are_refused(
    fedikit_client: FlaskClient, make_api_user: Any, fields: dict[str, Any], reason: str
) -> None:
    alice = make_api_user("alice")
    data: dict[str, Any] = {"status": "poll", "poll[options][]": ["a", "b"], "poll[expires_in]": "3600", **fields}
    response = fedikit_client.post("/api/v1/statuses", data=data, headers=alice.headers)
    assert response.status_code == 422, response.text
    assert reason in response.json["error"]
    assert fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses").json == []


def test_thousands_of_options_are_refused(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    response = fedikit_client.post(
        "/api/v1/statuses",
        json={"status": "poll", "poll": {"options": [str(i) for i in range(5000)], "expires_in": 3600}},
        headers=alice.headers,
    )
    assert response.status_code == 422


def test_the_limits_themselves_are_accepted(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    for expires_in in ("300", "2629746"):
        data = {"status": "edge", "poll[options][]": ["a" * 50, "b", "c", "d"], "poll[expires_in]": expires_in}
        assert fedikit_client.post("/api/v1/statuses", data=data, headers=alice.headers).status_code == 200


def test_a_poll_cannot_come_with_media(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    from fedikit.core.models import MediaAttachment

    alice = make_api_user("alice")
    media = MediaAttachment(account_id=alice.account.id, type="image")
    db.session.add(media)
    db.session.commit()
    data = {"status": "x", "media_ids[]": [str(media.id)], "poll[options][]": ["a", "b"], "poll[expires_in]": "600"}
    response = fedikit_client.post("/api/v1/statuses", data=data, headers=alice.headers)
    assert response.status_code == 422
    assert "poll" in response.json["error"]


def test_voting(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    poll_id = post_poll(fedikit_client, alice).json["poll"]["id"]
    voted = fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["1"]}, headers=bob.headers)
    assert voted.status_code == 200, voted.text
    validate(voted.json, "Poll")
    assert voted.json["voted"] is True and voted.json["own_votes"] == [1]
    assert [o["votes_count"] for o in voted.json["options"]] == [0, 1, 0]
    as_json = fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", json={"choices": [1]}, headers=carol.headers)
    assert as_json.status_code == 200, as_json.text
    assert as_json.json["votes_count"] == 2 and as_json.json["voters_count"] == 2
    seen_by_alice = fedikit_client.get(f"/api/v1/polls/{poll_id}", headers=alice.headers).json
    assert [o["votes_count"] for o in seen_by_alice["options"]] == [0, 2, 0]
    assert seen_by_alice["own_votes"] == []


def test_hostile_votes(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    poll_id = post_poll(fedikit_client, alice).json["poll"]["id"]

    def vote(user: Any, choices: list[str]) -> Any:
        return fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": choices}, headers=user.headers)

    assert vote(alice, ["0"]).status_code == 422  # one's own poll
    assert vote(bob, []).status_code == 422
    assert vote(bob, ["3"]).status_code == 422
    assert vote(bob, ["-1"]).status_code == 422
    assert vote(bob, ["first"]).status_code == 422
    assert vote(bob, ["0", "1"]).status_code == 422  # one choice only
    assert vote(bob, [str(i % 3) for i in range(1000)]).status_code == 422
    assert vote(bob, ["0"]).status_code == 200
    twice = vote(bob, ["0"])
    assert twice.status_code == 422
    assert "already voted" in twice.json["error"]
    assert vote(bob, ["2"]).status_code == 422
    final = fedikit_client.get(f"/api/v1/polls/{poll_id}", headers=bob.headers).json
    assert final["votes_count"] == 1 and final["own_votes"] == [0]
    assert (
        fedikit_client.post("/api/v1/polls/123456789/votes", data={"choices[]": ["0"]}, headers=bob.headers).status_code
        == 404
    )
    assert fedikit_client.get("/api/v1/polls/not-an-id").status_code == 404
    assert fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}).status_code == 401


def test_multiple_choice(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    poll_id = post_poll(fedikit_client, alice, multiple="true").json["poll"]["id"]
    voted = fedikit_client.post(
        f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0", "2", "2"]}, headers=bob.headers
    )
    assert voted.status_code == 200, voted.text
    assert voted.json["own_votes"] == [0, 2]
    assert voted.json["votes_count"] == 2 and voted.json["voters_count"] == 1
    again = fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["1"]}, headers=bob.headers)
    assert again.status_code == 422


def test_a_poll_is_seen_only_with_its_status(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=bob.headers)
    poll_id = post_poll(fedikit_client, alice, multiple="false").json["poll"]["id"]
    private = fedikit_client.post(
        "/api/v1/statuses",
        data={"status": "followers", "visibility": "private", "poll[options][]": ["y", "n"], "poll[expires_in]": "600"},
        headers=alice.headers,
    ).json["poll"]["id"]
    assert fedikit_client.get(f"/api/v1/polls/{private}", headers=bob.headers).status_code == 200
    assert fedikit_client.get(f"/api/v1/polls/{private}", headers=carol.headers).status_code == 404
    assert fedikit_client.get(f"/api/v1/polls/{private}").status_code == 404
    hidden_vote = fedikit_client.post(
        f"/api/v1/polls/{private}/votes", data={"choices[]": ["0"]}, headers=carol.headers
    )
    assert hidden_vote.status_code == 404
    fedikit_client.post(f"/api/v1/accounts/{carol.account.id}/block", headers=alice.headers)
    assert fedikit_client.get(f"/api/v1/polls/{poll_id}", headers=carol.headers).status_code == 404
    fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/block", headers=bob.headers)
    blocked = fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["0"]}, headers=bob.headers)
    assert blocked.status_code == 403


def test_the_end_of_a_poll(
    fedikit_app: Flask,
    fedikit_client: FlaskClient,
    make_api_user: Any,
    delayed_jobs: list[Job],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob, carol, dave = (make_api_user(n) for n in ("alice", "bob", "carol", "dave"))
    status = post_poll(fedikit_client, alice, hide_totals="true").json
    poll_id = status["poll"]["id"]
    for voter, choice in ((bob, "0"), (carol, "2")):
        fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": [choice]}, headers=voter.headers)
    assert [j.name for j in delayed_jobs] == [poll_service.EXPIRE_JOB]
    not_taking_part = fedikit_client.post(f"/api/v1/statuses/{status['id']}/mute", headers=carol.headers)
    assert not_taking_part.status_code == 422  # voting is not taking part in the conversation
    travel(monkeypatch, 3601)
    late = fedikit_client.post(f"/api/v1/polls/{poll_id}/votes", data={"choices[]": ["1"]}, headers=dave.headers)
    assert late.status_code == 422
    assert "ended" in late.json["error"]
    assert run_delayed(fedikit_app, delayed_jobs, poll_service.EXPIRE_JOB) == 1
    ended = fedikit_client.get(f"/api/v1/polls/{poll_id}", headers=dave.headers).json
    validate(ended, "Poll")
    assert ended["expired"] is True and ended["voted"] is False
    assert [o["votes_count"] for o in ended["options"]] == [1, 0, 1]  # totals shown once it ended
    for user in (alice, bob, carol):
        listed = fedikit_client.get("/api/v1/notifications", headers=user.headers).json
        polls_ended = [n for n in listed if n["type"] == "poll"]
        assert len(polls_ended) == 1, user.account.username
        validate_list(polls_ended, "Notification")
        assert polls_ended[0]["status"]["poll"]["expired"] is True
    assert not [
        n for n in fedikit_client.get("/api/v1/notifications", headers=dave.headers).json if n["type"] == "poll"
    ]


def test_no_poll_notification_in_a_muted_conversation(
    fedikit_app: Flask,
    fedikit_client: FlaskClient,
    make_api_user: Any,
    delayed_jobs: list[Job],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post_poll(fedikit_client, alice).json
    fedikit_client.post(f"/api/v1/polls/{status['poll']['id']}/votes", data={"choices[]": ["0"]}, headers=bob.headers)
    assert fedikit_client.post(f"/api/v1/statuses/{status['id']}/mute", headers=alice.headers).status_code == 200
    travel(monkeypatch, 4000)
    run_delayed(fedikit_app, delayed_jobs, poll_service.EXPIRE_JOB)
    assert [n["type"] for n in fedikit_client.get("/api/v1/notifications", headers=alice.headers).json] == []
    assert [n["type"] for n in fedikit_client.get("/api/v1/notifications", headers=bob.headers).json] == ["poll"]


def test_an_early_end_job_does_nothing(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: Any, delayed_jobs: list[Job]
) -> None:
    alice = make_api_user("alice")
    post_poll(fedikit_client, alice)
    run_delayed(fedikit_app, delayed_jobs, poll_service.EXPIRE_JOB)  # too early: queued again for the end
    assert [j.name for j in delayed_jobs] == [poll_service.EXPIRE_JOB]
    assert fedikit_client.get("/api/v1/notifications", headers=alice.headers).json == []


def test_deleting_the_status_removes_the_poll(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    status = post_poll(fedikit_client, alice).json
    assert fedikit_client.delete(f"/api/v1/statuses/{status['id']}", headers=alice.headers).status_code == 200
    assert fedikit_client.get(f"/api/v1/polls/{status['poll']['id']}").status_code == 404
