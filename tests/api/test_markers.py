"""Markers through HTTP: read positions per user, versions, JSON and form bodies."""

from __future__ import annotations

from typing import Any

from contract import validate
from flask.testing import FlaskClient


def test_markers(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers
    assert fedikit_client.get("/api/v1/markers", headers=headers).json == {}
    assert fedikit_client.get("/api/v1/markers?timeline[]=home", headers=headers).json == {}

    saved = fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": "103194548672408537"}, headers=headers)
    assert saved.status_code == 200
    assert list(saved.json) == ["home"]
    validate(saved.json["home"], "Marker")
    assert saved.json["home"]["last_read_id"] == "103194548672408537" and saved.json["home"]["version"] == 0

    moved = fedikit_client.post(
        "/api/v1/markers",
        json={"home": {"last_read_id": "103194548672408600"}, "notifications": {"last_read_id": "35098814"}},
        headers=headers,
    ).json
    assert moved["home"]["last_read_id"] == "103194548672408600" and moved["home"]["version"] == 1
    assert moved["notifications"] == {**moved["notifications"], "last_read_id": "35098814", "version": 0}
    validate(moved["notifications"], "Marker")

    same = fedikit_client.post(
        "/api/v1/markers", json={"home": {"last_read_id": "103194548672408600"}}, headers=headers
    )
    assert same.json["home"]["version"] == 1  # nothing changed, no new version

    both = fedikit_client.get(
        "/api/v1/markers?timeline[]=home&timeline[]=notifications&timeline[]=public", headers=headers
    ).json
    assert set(both) == {"home", "notifications"}
    for marker in both.values():
        validate(marker, "Marker")
    assert both["home"]["last_read_id"] == "103194548672408600"
    only = fedikit_client.get("/api/v1/markers?timeline=notifications", headers=headers).json
    assert list(only) == ["notifications"]


def test_markers_are_per_user(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": "10"}, headers=alice.headers)
    assert fedikit_client.get("/api/v1/markers?timeline[]=home", headers=bob.headers).json == {}
    bobs = fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": "20"}, headers=bob.headers).json
    assert bobs["home"]["version"] == 0
    alices = fedikit_client.get("/api/v1/markers?timeline[]=home", headers=alice.headers).json
    assert alices["home"]["last_read_id"] == "10" and alices["home"]["version"] == 0


def test_marker_input_and_scopes(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice = make_api_user("alice")
    bad = fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": "abc"}, headers=alice.headers)
    assert bad.status_code == 422
    blank = fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": ""}, headers=alice.headers)
    assert blank.status_code == 422
    assert fedikit_client.get("/api/v1/markers?timeline[]=home", headers=alice.headers).json == {}
    nothing = fedikit_client.post("/api/v1/markers", data={"public[last_read_id]": "5"}, headers=alice.headers)
    assert nothing.status_code == 200 and nothing.json == {}

    reader = make_api_user("reader", scopes="read:statuses")
    assert fedikit_client.get("/api/v1/markers?timeline[]=home", headers=reader.headers).status_code == 200
    denied = fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": "1"}, headers=reader.headers)
    assert denied.status_code == 403
    writer = make_api_user("writer", scopes="write:statuses")
    assert fedikit_client.get("/api/v1/markers", headers=writer.headers).status_code == 403
    assert fedikit_client.post("/api/v1/markers", data={"home[last_read_id]": "1"}, headers=writer.headers).json
    assert fedikit_client.get("/api/v1/markers").status_code == 401
