"""Scheduled statuses through HTTP: scheduling, listing, moving, cancelling, and the job that posts them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from contract import validate, validate_list
from delayed import run_delayed, travel
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.db import db, utcnow
from fedikit.core.services import scheduled as scheduled_service
from fedikit.plugin_api import Job

pytestmark = pytest.mark.usefixtures("delayed_jobs")


def at(seconds: float) -> str:
    return (utcnow() + dt.timedelta(seconds=seconds)).isoformat()


def schedule(client: FlaskClient, user: Any, when: str, **fields: Any) -> Any:
    return client.post(
        "/api/v1/statuses", data={"status": "later", "scheduled_at": when, **fields}, headers=user.headers
    )


def test_schedule_list_and_publish(
    fedikit_app: Flask,
    fedikit_client: FlaskClient,
    make_api_user: Any,
    delayed_jobs: list[Job],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = make_api_user("alice")
    response = schedule(fedikit_client, alice, at(3600), visibility="unlisted", spoiler_text="cw")
    assert response.status_code == 200, response.text
    validate(response.json, "ScheduledStatus")
    assert response.json["params"]["text"] == "later"
    assert response.json["params"]["visibility"] == "unlisted"
    scheduled_id = response.json["id"]
    assert fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses").json == []  # not posted yet

    listed = fedikit_client.get("/api/v1/scheduled_statuses", headers=alice.headers)
    validate_list(listed.json, "ScheduledStatus")
    assert [s["id"] for s in listed.json] == [scheduled_id]
    shown = fedikit_client.get(f"/api/v1/scheduled_statuses/{scheduled_id}", headers=alice.headers)
    validate(shown.json, "ScheduledStatus")

    travel(monkeypatch, 3601)
    run_delayed(fedikit_app, delayed_jobs, scheduled_service.PUBLISH_JOB)
    posted = fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses", headers=alice.headers).json
    assert len(posted) == 1
    validate(posted[0], "Status")
    assert "later" in posted[0]["content"] and posted[0]["visibility"] == "unlisted"
    assert posted[0]["spoiler_text"] == "cw"
    assert fedikit_client.get("/api/v1/scheduled_statuses", headers=alice.headers).json == []
    assert fedikit_client.get(f"/api/v1/scheduled_statuses/{scheduled_id}", headers=alice.headers).status_code == 404


def test_a_scheduled_poll(
    fedikit_app: Flask,
    fedikit_client: FlaskClient,
    make_api_user: Any,
    delayed_jobs: list[Job],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = make_api_user("alice")
    response = fedikit_client.post(
        "/api/v1/statuses",
        json={"status": "vote later", "scheduled_at": at(900), "poll": {"options": ["a", "b"], "expires_in": 600}},
        headers=alice.headers,
    )
    assert response.status_code == 200, response.text
    validate(response.json, "ScheduledStatus")
    assert response.json["params"]["poll"] == {
        "options": ["a", "b"],
        "expires_in": 600,
        "multiple": False,
        "hide_totals": False,
    }
    travel(monkeypatch, 901)
    run_delayed(fedikit_app, delayed_jobs, scheduled_service.PUBLISH_JOB)
    posted = fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses", headers=alice.headers).json
    validate(posted[0]["poll"], "Poll")
    assert [o["title"] for o in posted[0]["poll"]["options"]] == ["a", "b"]


def test_too_soon_or_malformed(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    assert schedule(fedikit_client, alice, at(60)).status_code == 422
    assert schedule(fedikit_client, alice, at(290)).status_code == 422
    assert schedule(fedikit_client, alice, "tomorrow").status_code == 422
    assert schedule(fedikit_client, alice, "9" * 500).status_code == 422
    hostile_poll = schedule(
        fedikit_client, alice, at(3600), **{"poll[options][]": ["1", "2", "3", "4", "5"], "poll[expires_in]": "600"}
    )
    assert hostile_poll.status_code == 422
    assert schedule(fedikit_client, alice, at(3600), status="").status_code == 422
    assert fedikit_client.get("/api/v1/scheduled_statuses", headers=alice.headers).json == []


def test_a_time_already_past_posts_now(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    response = schedule(fedikit_client, alice, at(-60))
    assert response.status_code == 200
    validate(response.json, "Status")


def test_move_and_cancel(
    fedikit_app: Flask,
    fedikit_client: FlaskClient,
    make_api_user: Any,
    delayed_jobs: list[Job],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = make_api_user("alice")
    first = schedule(fedikit_client, alice, at(600)).json["id"]
    second = schedule(fedikit_client, alice, at(900)).json["id"]
    moved = fedikit_client.put(
        f"/api/v1/scheduled_statuses/{first}", data={"scheduled_at": at(7200)}, headers=alice.headers
    )
    assert moved.status_code == 200, moved.text
    validate(moved.json, "ScheduledStatus")
    assert moved.json["scheduled_at"].startswith(at(7200)[:16])
    too_soon = fedikit_client.put(
        f"/api/v1/scheduled_statuses/{first}", data={"scheduled_at": at(10)}, headers=alice.headers
    )
    assert too_soon.status_code == 422
    assert fedikit_client.delete(f"/api/v1/scheduled_statuses/{second}", headers=alice.headers).json == {}

    travel(monkeypatch, 1000)  # the first one's old time: its old job finds it moved and waits
    run_delayed(fedikit_app, delayed_jobs, scheduled_service.PUBLISH_JOB)
    assert fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses").json == []
    assert [s["id"] for s in fedikit_client.get("/api/v1/scheduled_statuses", headers=alice.headers).json] == [first]


def test_owner_only(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    scheduled_id = schedule(fedikit_client, alice, at(3600)).json["id"]
    assert fedikit_client.get(f"/api/v1/scheduled_statuses/{scheduled_id}", headers=bob.headers).status_code == 404
    assert (
        fedikit_client.put(
            f"/api/v1/scheduled_statuses/{scheduled_id}", data={"scheduled_at": at(7200)}, headers=bob.headers
        ).status_code
        == 404
    )
    assert fedikit_client.delete(f"/api/v1/scheduled_statuses/{scheduled_id}", headers=bob.headers).status_code == 404
    assert fedikit_client.get("/api/v1/scheduled_statuses", headers=bob.headers).json == []
    assert fedikit_client.get("/api/v1/scheduled_statuses").status_code == 401
    assert fedikit_client.get("/api/v1/scheduled_statuses/x", headers=alice.headers).status_code == 404


def test_the_sweep_publishes_what_is_overdue(
    fedikit_client: FlaskClient, make_api_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = make_api_user("alice")
    schedule(fedikit_client, alice, at(600))
    travel(monkeypatch, 601)
    scheduled_service.publish_due_job()
    db.session.commit()
    assert len(fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses").json) == 1
    scheduled_service.publish_due_job()  # nothing left: nothing posted twice
    assert len(fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/statuses").json) == 1


def test_idempotency_key_with_scheduling(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    headers = {**alice.headers, "Idempotency-Key": "schedule-once"}
    data = {"status": "later", "scheduled_at": at(3600)}
    first = fedikit_client.post("/api/v1/statuses", data=data, headers=headers).json
    again = fedikit_client.post("/api/v1/statuses", data=data, headers=headers).json
    assert again["id"] == first["id"]
    validate(again, "ScheduledStatus")
    assert len(fedikit_client.get("/api/v1/scheduled_statuses", headers=alice.headers).json) == 1


def test_daily_limit(fedikit_client: FlaskClient, make_api_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = make_api_user("alice")
    monkeypatch.setattr(scheduled_service, "DAILY_LIMIT", 2)
    day = (utcnow() + dt.timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    for minute in (0, 1):
        assert schedule(fedikit_client, alice, (day + dt.timedelta(minutes=minute)).isoformat()).status_code == 200
    assert schedule(fedikit_client, alice, (day + dt.timedelta(minutes=2)).isoformat()).status_code == 422
    assert schedule(fedikit_client, alice, (day + dt.timedelta(days=1)).isoformat()).status_code == 200
