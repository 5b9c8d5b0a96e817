"""/api/v1/featured_tags (and suggestions), /api/v1/accounts/:id/featured_tags."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from contract import document, validate, validate_list
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fedikit.core.db import db
from fedikit.core.models import FeaturedTag, Tag
from fedikit.core.services import statuses as status_service

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

URL = "/api/v1/featured_tags"


@pytest.fixture(autouse=True)
def _openapi() -> None:
    document()


def feature(client: FlaskClient, who: ApiUser, name: Any) -> Any:
    return client.post(URL, data={} if name is None else {"name": name}, headers=who.headers)


def counts() -> tuple[int, int]:
    """Featured tags and tags stored: "nothing changed" checks."""
    featured = db.session.scalar(select(func.count()).select_from(FeaturedTag))
    tags = db.session.scalar(select(func.count()).select_from(Tag))
    return featured, tags


def test_feature_a_hashtag_and_count_its_public_use(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    answer = feature(fedikit_client, api_user, "#Cats")
    assert answer.status_code == 200, answer.text
    validate(answer.json, "FeaturedTag")
    assert answer.json["name"] == "Cats"
    assert answer.json["statuses_count"] == "0" and answer.json["last_status_at"] is None
    assert answer.json["url"] == "https://fedikit.test/@alice/tagged/cats"
    author = api_user.account
    status_service.post(author, "look #cats", visibility="public")
    status_service.post(author, "more #CATS", visibility="unlisted")
    status_service.post(author, "secret #cats", visibility="private")  # not counted: not public
    status_service.post(author, "@alice #cats", visibility="direct")
    [listed] = fedikit_client.get(URL, headers=api_user.headers).json
    validate(listed, "FeaturedTag")
    assert listed["statuses_count"] == "2"
    assert listed["last_status_at"] == dt.datetime.now(dt.UTC).date().isoformat()


def test_featuring_again_answers_the_same_one(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    first = feature(fedikit_client, api_user, "cats").json
    again = feature(fedikit_client, api_user, "#CATS")
    assert again.status_code == 200 and again.json["id"] == first["id"]
    assert counts() == (1, 1)


def test_ordered_by_use_and_shown_on_the_profile(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice = make_api_user("alice")
    for name in ("rare", "common"):
        feature(fedikit_client, alice, name)
    status_service.post(alice.account, "#common #rare")
    status_service.post(alice.account, "#common again")
    mine = fedikit_client.get(URL, headers=alice.headers).json
    assert [f["name"] for f in mine] == ["common", "rare"]
    shown = fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/featured_tags")  # anonymous
    assert shown.status_code == 200
    validate_list(shown.json, "FeaturedTag")
    assert shown.json == mine
    bob = make_api_user("bob")
    assert fedikit_client.get(URL, headers=bob.headers).json == []  # one's own only
    assert fedikit_client.get(f"/api/v1/accounts/{bob.account.id}/featured_tags").json == []
    missing = fedikit_client.get("/api/v1/accounts/123/featured_tags")
    assert missing.status_code == 404 and missing.json == {"error": "Record not found"}


def test_at_most_ten(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    for number in range(10):
        assert feature(fedikit_client, api_user, f"tag{number}x").status_code == 200
    before = counts()
    eleventh = feature(fedikit_client, api_user, "eleventh")
    assert eleventh.status_code == 422, eleventh.text
    assert "maximum" in eleventh.json["error"]
    assert counts() == before  # no featured tag, and no new hashtag either
    assert feature(fedikit_client, api_user, "tag3x").status_code == 200  # featuring one already there is fine


@pytest.mark.parametrize("name", [None, "", "#", "not a tag", "123", "x" * 256, "a-b"])
def test_names_that_are_not_hashtags(fedikit_client: FlaskClient, api_user: ApiUser, name: Any) -> None:
    before = counts()
    answer = feature(fedikit_client, api_user, name)
    assert answer.status_code == 422, answer.text
    assert answer.json["error"]
    assert counts() == before


def test_unfeature(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    featured = feature(fedikit_client, alice, "cats").json
    before = counts()
    for who, raw in ((bob, featured["id"]), (alice, "123"), (alice, "nope")):
        answer = fedikit_client.delete(f"{URL}/{raw}", headers=who.headers)
        assert answer.status_code == 404 and answer.json == {"error": "Record not found"}
    assert counts() == before
    answer = fedikit_client.delete(f"{URL}/{featured['id']}", headers=alice.headers)
    assert answer.status_code == 200 and answer.json == {}
    assert fedikit_client.get(URL, headers=alice.headers).json == []
    assert counts() == (0, 1)  # the hashtag itself stays


def test_suggestions_are_recently_used_hashtags_not_featured_yet(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status_service.post(alice.account, "#often #sometimes")
    status_service.post(alice.account, "#often #featured")
    status_service.post(alice.account, "#often")
    status_service.post(bob.account, "#bobs #bobs2")  # someone else's
    feature(fedikit_client, alice, "featured")
    answer = fedikit_client.get(f"{URL}/suggestions", headers=alice.headers)
    assert answer.status_code == 200, answer.text
    validate_list(answer.json, "Tag")
    assert [t["name"] for t in answer.json] == ["often", "sometimes"]
    assert all(t["following"] is False for t in answer.json)
