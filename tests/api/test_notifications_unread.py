"""GET /api/v1/notifications/unread_count: notifications newer than the ``notifications`` marker (Mastodon 4.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.db import db
from fedikit.core.models import Notification
from fedikit.plugin_api.testing import settle

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

URL = "/api/v1/notifications/unread_count"


def count(client: FlaskClient, who: ApiUser, **query: Any) -> int:
    answer = client.get(URL, query_string=query, headers=who.headers)
    assert answer.status_code == 200, answer.text
    assert list(answer.json) == ["count"]
    return answer.json["count"]


def read_up_to(client: FlaskClient, who: ApiUser, notification_id: str) -> None:
    saved = client.post("/api/v1/markers", data={"notifications[last_read_id]": notification_id}, headers=who.headers)
    assert saved.status_code == 200, saved.text


@pytest.fixture
def alice(fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> ApiUser:
    """alice, told of bob's follow, favourite and mention, in that order."""
    alice, bob = make_api_user("alice"), make_api_user("bob")
    fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=bob.headers)
    posted = fedikit_client.post("/api/v1/statuses", data={"status": "hello"}, headers=alice.headers).json
    fedikit_client.post(f"/api/v1/statuses/{posted['id']}/favourite", headers=bob.headers)
    fedikit_client.post("/api/v1/statuses", data={"status": "hey @alice"}, headers=bob.headers)
    settle(fedikit_app)
    return alice


def listed(client: FlaskClient, who: ApiUser) -> list[dict[str, Any]]:
    return client.get("/api/v1/notifications", headers=who.headers).json


def test_counts_what_the_marker_has_not_passed(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    mention, favourite, follow = listed(fedikit_client, alice)
    assert [mention["type"], favourite["type"], follow["type"]] == ["mention", "favourite", "follow"]
    assert count(fedikit_client, alice) == 3  # no marker yet: all of them
    read_up_to(fedikit_client, alice, follow["id"])
    assert count(fedikit_client, alice) == 2
    read_up_to(fedikit_client, alice, mention["id"])
    assert count(fedikit_client, alice) == 0


def test_types_account_and_limit(fedikit_client: FlaskClient, alice: ApiUser, make_api_user: MakeApiUser) -> None:
    carol = make_api_user("carol")
    fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=carol.headers)
    assert count(fedikit_client, alice) == 4
    assert count(fedikit_client, alice, **{"types[]": ["follow", "mention"]}) == 3
    assert count(fedikit_client, alice, **{"exclude_types[]": ["follow"]}) == 2
    assert count(fedikit_client, alice, **{"types[]": "follow", "exclude_types[]": "follow"}) == 0
    assert count(fedikit_client, alice, account_id=str(carol.account.id)) == 1
    assert count(fedikit_client, alice, limit=2) == 2
    assert count(fedikit_client, alice, limit=-3) == 3  # as Mastodon: the absolute value
    answer = fedikit_client.get(URL, query_string={"limit": "many"}, headers=alice.headers)
    assert answer.status_code == 422


def test_the_count_stops_at_the_limit(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    from_id = alice.account.id
    db.session.add_all(
        Notification(account_id=alice.account.id, from_account_id=from_id, type="poll") for _ in range(1200)
    )
    db.session.commit()
    assert count(fedikit_client, alice) == 100  # the default
    assert count(fedikit_client, alice, limit=5000) == 1000  # the most
    assert count(fedikit_client, alice, limit=1000) == 1000


def test_only_ones_own(fedikit_client: FlaskClient, alice: ApiUser, make_api_user: MakeApiUser) -> None:
    assert count(fedikit_client, make_api_user("dave")) == 0
