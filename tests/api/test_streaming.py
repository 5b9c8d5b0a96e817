"""The streaming API over server-sent events, in process: who receives which event, and who does not.

Each stream is read as a client reads it (``event:``/``data:`` lines);
``STREAMING_HEARTBEAT=1`` makes a quiet stream answer a heartbeat within a
second, so "nothing was sent" is observed, not assumed. The WebSocket
transport and a real client library are tested against ``fedikit serve``
in test_clients.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser


@pytest.fixture
def fedikit_config(database: dict[str, str]) -> dict[str, Any]:
    return {**database, "STREAMING_HEARTBEAT": "1"}


def _post(client: FlaskClient, user: ApiUser, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/statuses", json={"status": text, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json


def _follow(client: FlaskClient, follower: ApiUser, target: ApiUser) -> None:
    response = client.post(f"/api/v1/accounts/{target.account.id}/follow", headers=follower.headers)
    assert response.status_code == 200, response.text


def _updates(events: list[tuple[str, Any]]) -> list[str]:
    return [payload["content"] for event, payload in events if event == "update"]


def test_health_needs_no_token(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/api/v1/streaming/health")
    assert (response.status_code, response.text) == (200, "OK")


@pytest.mark.parametrize(
    ("path", "headers", "status", "error"),
    [
        ("user", {}, 401, "Missing access token"),
        ("user", {"Authorization": "Bearer nope"}, 401, "The access token is invalid"),
        ("public", {}, 401, "Missing access token"),  # since Mastodon 4.2 every stream needs a user token
        ("nonsense", {}, 400, "Unknown channel requested"),
    ],
)
def test_refusals(fedikit_client: FlaskClient, path: str, headers: dict[str, str], status: int, error: str) -> None:
    response = fedikit_client.get(f"/api/v1/streaming/{path}", headers=headers)
    assert (response.status_code, response.json) == (status, {"error": error})


def test_stream_parameters_and_scopes_are_checked(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, carol = make_api_user("alice"), make_api_user("carol")
    notifications_only = make_api_user("nina", scopes="read:notifications")
    response = fedikit_client.get("/api/v1/streaming/hashtag", headers=alice.headers)
    assert (response.status_code, response.json["error"]) == (400, "No tag for stream provided")
    carols_list = fedikit_client.post("/api/v1/lists", json={"title": "mine"}, headers=carol.headers).json
    response = fedikit_client.get(
        "/api/v1/streaming/list", query_string={"list": carols_list["id"]}, headers=alice.headers
    )
    assert response.status_code == 404  # someone else's list
    response = fedikit_client.get("/api/v1/streaming/user", headers=notifications_only.headers)
    assert response.status_code == 401
    response = fedikit_client.get(
        "/api/v1/streaming/user/notification", headers=notifications_only.headers, buffered=False
    )
    assert response.status_code == 200
    response.close()
    anonymous_app = fedikit_client.post(
        "/api/v1/apps", data={"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}
    ).json
    app_token = fedikit_client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": anonymous_app["client_id"],
            "client_secret": anonymous_app["client_secret"],
            "scope": "read",
        },
    ).json["access_token"]
    response = fedikit_client.get("/api/v1/streaming/public", headers={"Authorization": f"Bearer {app_token}"})
    assert response.status_code == 401  # an app's own token has no user to stream for


def test_home_stream_gets_followed_posts_and_not_others(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser, open_stream: Any
) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    _follow(fedikit_client, alice, bob)
    stream = open_stream("user", alice)
    _post(fedikit_client, bob, "bob public")
    _post(fedikit_client, bob, "bob followers only", visibility="private")
    _post(fedikit_client, carol, "carol, not followed")
    _post(fedikit_client, alice, "alice herself")
    events = stream.events(fedikit_app)
    assert sorted(_updates(events)) == ["<p>alice herself</p>", "<p>bob followers only</p>", "<p>bob public</p>"]
    update = next(payload for event, payload in events if event == "update")
    assert set(update) >= {"id", "account", "content", "favourited", "filtered"}  # a Status entity, for the viewer


def test_public_streams_show_only_public_posts_and_respect_blocks_and_mutes(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser, open_stream: Any
) -> None:
    alice, bob, carol, dave = (make_api_user(n) for n in ("alice", "bob", "carol", "dave"))
    fedikit_client.post(f"/api/v1/accounts/{carol.account.id}/block", headers=alice.headers)
    fedikit_client.post(f"/api/v1/accounts/{dave.account.id}/mute", headers=alice.headers)
    public, local = open_stream("public", alice), open_stream("public/local", alice)
    remote = open_stream("public/remote", alice)
    media = open_stream("public", alice, only_media="true")
    _post(fedikit_client, bob, "bob public #cats")
    _post(fedikit_client, bob, "bob unlisted", visibility="unlisted")
    _post(fedikit_client, bob, "bob private", visibility="private")
    _post(fedikit_client, bob, "@alice bob direct", visibility="direct")
    _post(fedikit_client, carol, "carol is blocked")
    _post(fedikit_client, dave, "dave is muted")
    assert [c.startswith("<p>bob public") for c in _updates(public.events(fedikit_app))] == [True]
    assert [c.startswith("<p>bob public") for c in _updates(local.events(fedikit_app))] == [True]
    assert _updates(remote.events(fedikit_app)) == []
    assert _updates(media.events(fedikit_app)) == []


def test_hashtag_and_list_streams(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser, open_stream: Any
) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    _follow(fedikit_client, alice, bob)
    _follow(fedikit_client, alice, carol)
    listed = fedikit_client.post("/api/v1/lists", json={"title": "friends"}, headers=alice.headers).json
    fedikit_client.post(
        f"/api/v1/lists/{listed['id']}/accounts", json={"account_ids": [str(bob.account.id)]}, headers=alice.headers
    )
    tag_stream = open_stream("hashtag", alice, tag="Cats")
    local_tag_stream = open_stream("hashtag/local", alice, tag="cats")
    list_stream = open_stream("list", alice, list=listed["id"])
    _post(fedikit_client, carol, "carol #cats")
    _post(fedikit_client, bob, "bob #dogs")
    _post(fedikit_client, bob, "bob private #cats", visibility="private")
    assert [c.count("carol") for c in _updates(tag_stream.events(fedikit_app))] == [1]
    assert len(_updates(local_tag_stream.events(fedikit_app))) == 1
    # each post is streamed by its own job: two posts' events may come in either order
    assert sorted(c[:9] for c in _updates(list_stream.events(fedikit_app))) == ["<p>bob <a", "<p>bob pr"]


def test_notifications_deletes_edits_and_filter_changes(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser, open_stream: Any
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    _follow(fedikit_client, alice, bob)
    home = open_stream("user", alice)
    bobs = open_stream("user/notification", bob)
    posted = _post(fedikit_client, bob, "first words")
    assert [(e, p["content"]) for e, p in home.events(fedikit_app)] == [("update", "<p>first words</p>")]
    edited = fedikit_client.put(f"/api/v1/statuses/{posted['id']}", json={"status": "second"}, headers=bob.headers)
    assert edited.status_code == 200
    assert [(e, p["content"]) for e, p in home.events(fedikit_app)] == [("status.update", "<p>second</p>")]
    fedikit_client.post(f"/api/v1/statuses/{posted['id']}/favourite", headers=alice.headers)
    notifications = bobs.events(fedikit_app)
    assert [(e, p["type"], p["account"]["username"]) for e, p in notifications] == [
        ("notification", "favourite", "alice")
    ]
    fedikit_client.delete(f"/api/v1/statuses/{posted['id']}", headers=bob.headers)
    fedikit_client.post(
        "/api/v2/filters",
        json={"title": "f", "context": ["home"], "keywords_attributes": [{"keyword": "x"}]},
        headers=alice.headers,
    )
    assert home.events(fedikit_app) == [("delete", posted["id"]), ("filters_changed", "undefined")]
    assert bobs.events(fedikit_app) == []  # a notification about a deleted status went with it


def test_revoking_the_token_closes_the_stream(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser, open_stream: Any
) -> None:
    alice = make_api_user("alice")
    stream = open_stream("user", alice)
    response = fedikit_client.post(
        "/oauth/revoke",
        data={
            "token": alice.token,
            "client_id": alice.application["client_id"],
            "client_secret": alice.application["client_secret"],
        },
    )
    assert response.status_code == 200
    with pytest.raises(StopIteration):
        stream.events(fedikit_app, beats=2)


def test_a_disabled_login_loses_its_streams_at_the_next_heartbeat(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser, open_stream: Any
) -> None:
    from fedikit.core.db import db

    alice = make_api_user("alice")
    stream = open_stream("public", alice)
    alice.user.disabled = True  # what `fedikit accounts modify alice --disable` writes
    db.session.commit()
    with pytest.raises(StopIteration):
        stream.events(fedikit_app, beats=2)
