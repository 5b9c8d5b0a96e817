"""The instance endpoints, custom emojis and preferences, through HTTP."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import pytest
from flask.testing import FlaskClient

import fedikit
from fedikit.core.db import db, utcnow
from fedikit.core.ids import id_at
from fedikit.core.models import Account, InstanceRule, Status
from fedikit.core.services.accounts import create_local_account

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

WEEK = 7 * 24 * 3600


def remote_account(username: str, domain: str) -> Account:
    account = Account(username=username, domain=domain, uri=f"https://{domain}/users/{username}")
    db.session.add(account)
    db.session.commit()
    return account


def remote_status(author: Account, when: dt.datetime | None = None) -> Status:
    when = when or utcnow()
    status_id = id_at(when)
    status = Status(
        id=status_id,
        uri=f"https://{author.domain}/statuses/{status_id}",
        account=author,
        local=False,
        content="<p>from afar</p>",
        created_at=when,
    )
    db.session.add(status)
    db.session.commit()
    return status


def post(client: FlaskClient, who: ApiUser, text: str = "hello") -> dict[str, Any]:
    response = client.post("/api/v1/statuses", data={"status": text}, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json


def add_rule(text: str, priority: int, *, deleted: bool = False, hint: str = "") -> InstanceRule:
    rule = InstanceRule(text=text, priority=priority, hint=hint, deleted_at=utcnow() if deleted else None)
    db.session.add(rule)
    db.session.commit()
    return rule


def mastodon_py_version(version: str) -> tuple[int, int, int]:
    """How Mastodon.py reads a server's version: the part before the first space, three numbers."""
    major, minor, patch = version.split(" ")[0].split(".")
    return int(major), int(minor), int(patch)


# ---------------------------------------------------------------- /api/v1/instance, /api/v2/instance


def test_v1_instance_defaults(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/api/v1/instance")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.json
    assert data["uri"] == "fedikit.test"
    assert data["title"] == "fedikit.test"
    assert data["description"] == data["short_description"] == ""
    assert data["email"] == ""
    assert data["urls"] == {"streaming_api": "wss://fedikit.test"}
    assert data["registrations"] is False and data["approval_required"] is False and data["invites_enabled"] is False
    assert data["contact_account"] is None
    assert data["rules"] == []
    assert data["stats"] == {"user_count": 0, "status_count": 0, "domain_count": 0}
    config = data["configuration"]
    assert config["statuses"] == {"max_characters": 500, "max_media_attachments": 4, "characters_reserved_per_url": 23}
    assert config["accounts"] == {"max_featured_tags": 10}
    assert config["polls"] == {
        "max_options": 4,
        "max_characters_per_option": 50,
        "min_expiration": 300,
        "max_expiration": 2629746,
    }
    media = config["media_attachments"]
    assert {"image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "audio/mpeg"} <= set(
        media["supported_mime_types"]
    )
    assert media["image_size_limit"] == 16777216 and media["video_size_limit"] == 103809024
    assert media["image_matrix_limit"] == 33177600 and media["video_matrix_limit"] == 8294400
    assert media["video_frame_rate_limit"] == 120


def test_version_is_mastodon_like(fedikit_client: FlaskClient) -> None:
    for path in ("/api/v1/instance", "/api/v2/instance"):
        version = fedikit_client.get(path).json["version"]
        assert mastodon_py_version(version) == (4, 3, 0)
        assert re.fullmatch(r"4\.3\.0 \(compatible; fedikit \d+\.\d+\.\d+\S*\)", version)
        assert version.endswith(f"fedikit {fedikit.__version__})")


def test_thumbnail_is_served(fedikit_client: FlaskClient) -> None:
    v1 = fedikit_client.get("/api/v1/instance").json["thumbnail"]
    v2 = fedikit_client.get("/api/v2/instance").json["thumbnail"]
    assert v1 == v2["url"] and v1.startswith("https://fedikit.test/")
    image = fedikit_client.get(v1.removeprefix("https://fedikit.test"))
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_v1_stats_count_local_users_local_statuses_and_remote_domains(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, _ = make_api_user("alice"), make_api_user("bob")
    create_local_account("unconfirmed", "unconfirmed@example.com", "a-password")  # not counted
    suspended = make_api_user("suspended").account
    suspended.suspended_at = utcnow()  # not counted
    db.session.commit()
    post(fedikit_client, alice)
    post(fedikit_client, alice, "again")
    far = remote_account("far", "far.example")
    remote_account("other", "far.example")
    remote_account("near", "near.example")
    remote_status(far)
    stats = fedikit_client.get("/api/v1/instance").json["stats"]
    assert stats == {"user_count": 2, "status_count": 2, "domain_count": 2}


def test_v2_instance_defaults(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/api/v2/instance")
    assert response.status_code == 200
    data = response.json
    assert data["domain"] == "fedikit.test"
    assert data["title"] == "fedikit.test"
    assert data["description"] == ""
    assert data["source_url"] == "https://fedikit.test/about"
    assert data["api_versions"] == {"mastodon": 1}  # 2 only once /api/v2/notifications exists
    assert data["contact"] == {"email": "", "account": None}
    assert data["registrations"]["enabled"] is False and data["registrations"]["approval_required"] is False
    assert data["usage"] == {"users": {"active_month": 0}}
    assert data["icon"] == [] and data["languages"] == ["en"]
    config = data["configuration"]
    assert config["urls"]["streaming"] == "wss://fedikit.test"
    assert config["vapid"] == {"public_key": ""}
    assert config["translation"] == {"enabled": False}
    assert config["accounts"] == {"max_featured_tags": 10, "max_pinned_statuses": 5}
    assert config["statuses"]["max_characters"] == 500
    assert config["media_attachments"]["description_limit"] == 1500
    assert config["polls"]["max_options"] == 4
    assert config["timelines_access"]["live_feeds"] == {"local": "public", "remote": "public"}


def test_v2_usage_counts_users_signed_in_within_30_days(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    recent, old, never = make_api_user("recent"), make_api_user("old"), make_api_user("never")
    never.user.current_sign_in_at = None  # getting a token counts as signing in; undo that here
    recent.user.current_sign_in_at = utcnow() - dt.timedelta(days=3)
    old.user.current_sign_in_at = utcnow() - dt.timedelta(days=40)
    db.session.commit()
    assert fedikit_client.get("/api/v2/instance").json["usage"] == {"users": {"active_month": 1}}


def test_contact_account_is_the_owner(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    make_api_user("someone")
    owner = make_api_user("boss", role="owner")
    make_api_user("boss2", role="owner")
    v1 = fedikit_client.get("/api/v1/instance").json["contact_account"]
    v2 = fedikit_client.get("/api/v2/instance").json["contact"]["account"]
    assert v1 == v2
    assert v1["id"] == str(owner.account.id) and v1["username"] == "boss" and v1["acct"] == "boss"


def test_trailing_slashes(fedikit_client: FlaskClient) -> None:
    for path in ("/api/v1/instance/", "/api/v2/instance/", "/api/v1/instance/rules/", "/api/v1/custom_emojis/"):
        response = fedikit_client.get(path)
        assert response.status_code == 200, path


def test_public_endpoints_accept_any_valid_token_and_refuse_a_bad_one(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    poster = make_api_user("poster", scopes="write:statuses")  # a posting bot still reads the limits
    for path in ("/api/v1/instance", "/api/v2/instance", "/api/v1/instance/rules", "/api/v1/custom_emojis"):
        assert fedikit_client.get(path, headers=poster.headers).status_code == 200, path
        assert fedikit_client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401, path


class TestConfigured:
    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {
            **database,
            "MAX_STATUS_CHARS": "1000",
            "LOCAL_HTTPS": "false",
            "INSTANCE_TITLE": "Our Place",
            "INSTANCE_DESCRIPTION": "A <em>small</em> place",
            "CONTACT_EMAIL": "admin@fedikit.test",
            "REGISTRATIONS_MODE": "approved",
            "SOURCE_URL": "https://source.example/fedikit",
        }

    def test_v1_follows_config(self, fedikit_client: FlaskClient) -> None:
        data = fedikit_client.get("/api/v1/instance").json
        assert data["configuration"]["statuses"]["max_characters"] == 1000
        assert data["title"] == "Our Place"
        assert data["description"] == data["short_description"] == "A <em>small</em> place"
        assert data["email"] == "admin@fedikit.test"
        assert data["urls"]["streaming_api"] == "ws://fedikit.test"
        assert data["registrations"] is True and data["approval_required"] is True

    def test_v2_follows_config(self, fedikit_client: FlaskClient) -> None:
        data = fedikit_client.get("/api/v2/instance").json
        assert data["configuration"]["statuses"]["max_characters"] == 1000
        assert data["configuration"]["urls"]["streaming"] == "ws://fedikit.test"
        assert data["title"] == "Our Place"
        assert data["contact"]["email"] == "admin@fedikit.test"
        assert data["source_url"] == "https://source.example/fedikit"
        assert data["registrations"]["enabled"] is True and data["registrations"]["approval_required"] is True

    def test_the_limit_is_the_one_enforced(self, fedikit_client: FlaskClient, api_user: ApiUser) -> None:
        limit = fedikit_client.get("/api/v2/instance").json["configuration"]["statuses"]["max_characters"]
        ok = fedikit_client.post("/api/v1/statuses", data={"status": "x" * limit}, headers=api_user.headers)
        assert ok.status_code == 200, ok.text
        too_long = fedikit_client.post("/api/v1/statuses", data={"status": "x" * (limit + 1)}, headers=api_user.headers)
        assert too_long.status_code == 422


class TestSingleUserMode:
    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {**database, "REGISTRATIONS_MODE": "open", "SINGLE_USER_MODE": "true"}

    def test_no_registrations(self, fedikit_client: FlaskClient) -> None:
        assert fedikit_client.get("/api/v1/instance").json["registrations"] is False
        assert fedikit_client.get("/api/v2/instance").json["registrations"]["enabled"] is False


# ---------------------------------------------------------------- rules, peers, activity, emojis


def test_rules_by_priority_then_id_without_deleted(fedikit_client: FlaskClient) -> None:
    second = add_rule("Be kind", 1, hint="Really.")
    add_rule("Gone", 0, deleted=True)
    third = add_rule("No spam", 1)
    first = add_rule("Follow the law", 0)
    expected = [
        {"id": str(first.id), "text": "Follow the law", "hint": ""},
        {"id": str(second.id), "text": "Be kind", "hint": "Really."},
        {"id": str(third.id), "text": "No spam", "hint": ""},
    ]
    assert fedikit_client.get("/api/v1/instance/rules").json == expected
    assert fedikit_client.get("/api/v1/instance").json["rules"] == expected
    assert fedikit_client.get("/api/v2/instance").json["rules"] == expected


def test_peers_are_remote_domains_sorted_and_distinct(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    assert fedikit_client.get("/api/v1/instance/peers").json == []
    remote_account("a", "zeta.example")
    remote_account("b", "alpha.example")
    remote_account("c", "zeta.example")
    response = fedikit_client.get("/api/v1/instance/peers/")
    assert response.status_code == 200
    assert response.json == ["alpha.example", "zeta.example"]


def test_activity_shape(fedikit_client: FlaskClient) -> None:
    weeks = fedikit_client.get("/api/v1/instance/activity").json
    assert len(weeks) == 12
    for week in weeks:
        assert set(week) == {"week", "statuses", "logins", "registrations"}
        assert all(isinstance(value, str) and value.isdigit() for value in week.values())
    starts = [int(week["week"]) for week in weeks]
    assert [a - b for a, b in zip(starts, starts[1:], strict=False)] == [WEEK] * 11  # newest first
    newest = dt.datetime.fromtimestamp(starts[0], dt.UTC)
    assert newest.weekday() == 0 and newest.time() == dt.time()  # Monday, midnight UTC
    assert newest <= utcnow() < newest + dt.timedelta(weeks=1)


def test_activity_counts(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    now = utcnow()
    post(fedikit_client, alice)
    post(fedikit_client, bob)
    remote_status(remote_account("far", "far.example"))  # not local: not counted
    alice.user.current_sign_in_at = now
    bob.user.current_sign_in_at = now - dt.timedelta(weeks=2)
    carol.user.current_sign_in_at = now - dt.timedelta(weeks=20)  # before the twelve weeks
    carol.user.created_at = now - dt.timedelta(weeks=8)
    db.session.commit()
    weeks = fedikit_client.get("/api/v1/instance/activity").json
    assert [w["statuses"] for w in weeks] == ["2"] + ["0"] * 11
    assert [w["logins"] for w in weeks] == ["1", "0", "1"] + ["0"] * 9
    assert [w["registrations"] for w in weeks] == ["2"] + ["0"] * 7 + ["1"] + ["0"] * 3


def test_custom_emojis_is_an_empty_list(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/api/v1/custom_emojis")
    assert response.status_code == 200 and response.json == []


# ---------------------------------------------------------------- preferences


def test_preferences_need_a_token(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/api/v1/preferences")
    assert response.status_code == 401
    assert "error" in response.json


def test_preferences_need_read_accounts(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    writer = make_api_user("writer", scopes="write")
    assert fedikit_client.get("/api/v1/preferences", headers=writer.headers).status_code == 403
    reader = make_api_user("reader", scopes="read:accounts")
    assert fedikit_client.get("/api/v1/preferences", headers=reader.headers).status_code == 200


def test_preferences_defaults(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    response = fedikit_client.get("/api/v1/preferences", headers=api_user.headers)
    assert response.status_code == 200
    assert response.json == {
        "posting:default:visibility": "public",
        "posting:default:sensitive": False,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
        "reading:autoplay:gifs": False,
    }


def test_preferences_from_settings(fedikit_client: FlaskClient, api_user: ApiUser) -> None:
    api_user.user.settings = {"default_privacy": "unlisted", "default_sensitive": True, "default_language": "de"}
    db.session.commit()
    data = fedikit_client.get("/api/v1/preferences", headers=api_user.headers).json
    assert data["posting:default:visibility"] == "unlisted"
    assert data["posting:default:sensitive"] is True
    assert data["posting:default:language"] == "de"
    credential = fedikit_client.get("/api/v1/accounts/verify_credentials", headers=api_user.headers).json
    assert credential["source"]["privacy"] == "unlisted" and credential["source"]["language"] == "de"
