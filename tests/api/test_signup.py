"""Signing up through an app (POST /api/v1/accounts), as Mastodon's registration API answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from conftest import app_only_token, register_app
from contract import validate
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fedikit.core.db import db
from fedikit.core.models import Account, User

if TYPE_CHECKING:
    from conftest import MakeApiUser

MANY = {"api_sign_up": (1000, 1800)}  # room for many attempts in one test; one test keeps Mastodon's 5


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"REGISTRATIONS_MODE": "open", "RATE_LIMITS": MANY}


@pytest.fixture
def fedikit_config(database: dict[str, str], settings: dict[str, Any]) -> dict[str, Any]:
    return {**database, **settings}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def details(**fields: Any) -> dict[str, Any]:
    return {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": "a good long password",
        "agreement": "true",
        "locale": "en",
        **fields,
    }


def sign_up(client: FlaskClient, token: str, **fields: Any) -> Any:
    return client.post("/api/v1/accounts", data=details(**fields), headers=bearer(token))


def users() -> int:
    db.session.rollback()  # what is committed now
    return db.session.scalar(select(func.count()).select_from(User)) or 0


# ---------------------------------------------------------------- signing up


def test_open_registrations_make_an_account_that_works_at_once(fedikit_client: FlaskClient) -> None:
    token = app_only_token(fedikit_client)
    response = sign_up(fedikit_client, token, username="Newbie", email="Newbie@Example.com", locale="pt-BR")
    assert response.status_code == 200, response.text
    validate(response.json, "Token")
    assert response.json["token_type"] == "Bearer" and response.json["scope"] == "read write follow"
    assert set(response.json) == {"access_token", "token_type", "scope", "created_at"}
    me = fedikit_client.get("/api/v1/accounts/verify_credentials", headers=bearer(response.json["access_token"]))
    assert me.status_code == 200, me.text
    assert (me.json["username"], me.json["acct"]) == ("Newbie", "Newbie")
    user = db.session.scalar(select(User).join(Account).where(Account.username == "Newbie"))
    assert (user.email, user.locale, user.approved, user.confirmed, user.role) == (
        "newbie@example.com",
        "pt-BR",
        True,
        True,
        "user",
    )
    # the password signs in through an app as well
    app = register_app(fedikit_client)
    login = fedikit_client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "newbie@example.com",
            "password": "a good long password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
    )
    assert login.status_code == 200, login.text


def test_json_body_and_the_apps_scopes(fedikit_client: FlaskClient) -> None:
    token = app_only_token(fedikit_client, "read write:accounts")
    response = fedikit_client.post(
        "/api/v1/accounts", json={**details(), "agreement": True, "reason": "I like gardens"}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    assert response.json["scope"] == "read write:accounts"


@pytest.mark.parametrize("settings", [{"REGISTRATIONS_MODE": "approved", "RATE_LIMITS": MANY}])
def test_approved_registrations_wait_for_an_admin(fedikit_client: FlaskClient) -> None:
    response = sign_up(fedikit_client, app_only_token(fedikit_client), reason="I grow tomatoes")
    assert response.status_code == 200, response.text
    validate(response.json, "Token")
    new_token = bearer(response.json["access_token"])
    refused = fedikit_client.get("/api/v1/accounts/verify_credentials", headers=new_token)
    assert refused.status_code == 403 and refused.json == {"error": "Your login is currently pending approval"}
    user = db.session.scalar(select(User).where(User.email == "newbie@example.com"))
    assert user.approved is False
    user.approved = True  # what `fedikit accounts modify newbie --approve` does
    db.session.commit()
    assert fedikit_client.get("/api/v1/accounts/verify_credentials", headers=new_token).status_code == 200


@pytest.mark.parametrize(
    "settings",
    [
        {"REGISTRATIONS_MODE": "none"},
        {"REGISTRATIONS_MODE": "open", "SINGLE_USER_MODE": "true"},
    ],
)
def test_closed_registrations_are_forbidden(fedikit_client: FlaskClient) -> None:
    token = app_only_token(fedikit_client)
    response = sign_up(fedikit_client, token)
    assert response.status_code == 403
    assert response.json == {"error": "This action is not allowed"}
    assert users() == 0


def test_registrations_are_closed_by_default() -> None:
    from fedikit.core.config import DEFAULTS

    assert DEFAULTS["REGISTRATIONS_MODE"] == "none"


def test_only_an_apps_own_token_with_write_accounts_signs_up(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    anonymous = fedikit_client.post("/api/v1/accounts", data=details())
    assert anonymous.status_code == 401
    user_token = make_api_user("alice").token
    as_user = fedikit_client.post("/api/v1/accounts", data=details(), headers=bearer(user_token))
    assert as_user.status_code == 403
    assert as_user.json == {"error": "This method requires an client credentials authentication"}
    read_only = sign_up(fedikit_client, app_only_token(fedikit_client, "read"))
    assert read_only.status_code == 403
    assert users() == 1  # alice only
    bad_token = fedikit_client.post("/api/v1/accounts", data=details(), headers=bearer("nonsense"))
    assert bad_token.status_code == 401


# ---------------------------------------------------------------- bad input


def test_every_problem_is_detailed_and_nothing_is_stored(fedikit_client: FlaskClient) -> None:
    token = app_only_token(fedikit_client)
    response = fedikit_client.post("/api/v1/accounts", data={}, headers=bearer(token))
    assert response.status_code == 422
    validate(response.json, "ValidationError")
    assert response.json == {
        "error": "Validation failed: Username can't be blank, Email can't be blank, Password can't be blank, "
        "Agreement must be accepted",
        "details": {
            "username": [{"error": "ERR_BLANK", "description": "can't be blank"}],
            "email": [{"error": "ERR_BLANK", "description": "can't be blank"}],
            "password": [{"error": "ERR_BLANK", "description": "can't be blank"}],
            "agreement": [{"error": "ERR_ACCEPTED", "description": "must be accepted"}],
        },
    }
    assert users() == 0


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"username": "admin"}, "username", "ERR_RESERVED"),
        ({"username": "no spaces"}, "username", "ERR_INVALID"),
        ({"username": "-dash"}, "username", "ERR_INVALID"),
        ({"username": "x" * 31}, "username", "ERR_TOO_LONG"),
        ({"email": "not-an-address"}, "email", "ERR_INVALID"),
        ({"email": "a%b@example.com"}, "email", "ERR_INVALID"),
        ({"email": f"{'x' * 320}@example.com"}, "email", "ERR_TOO_LONG"),
        ({"password": "short"}, "password", "ERR_TOO_SHORT"),
        ({"password": "x" * 73}, "password", "ERR_TOO_LONG"),
        ({"agreement": "false"}, "agreement", "ERR_ACCEPTED"),
        ({"agreement": "maybe"}, "agreement", "ERR_ACCEPTED"),
        ({"locale": "not a locale"}, "locale", "ERR_INCLUSION"),
        ({"reason": "x" * 421}, "reason", "ERR_TOO_LONG"),
    ],
)
def test_bad_field(fedikit_client: FlaskClient, fields: dict[str, str], field: str, code: str) -> None:
    response = sign_up(fedikit_client, app_only_token(fedikit_client), **fields)
    assert response.status_code == 422, response.text
    validate(response.json, "ValidationError")
    assert list(response.json["details"]) == [field]
    assert [d["error"] for d in response.json["details"][field]] == [code]
    assert response.json["error"].startswith(f"Validation failed: {field.capitalize()} ")
    assert users() == 0


def test_taken_username_and_address(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    make_api_user("alice")
    token = app_only_token(fedikit_client)
    response = sign_up(fedikit_client, token, username="ALICE", email="Alice@Example.com")
    assert response.status_code == 422
    assert response.json == {
        "error": "Validation failed: Username has already been taken, Email has already been taken",
        "details": {
            "username": [{"error": "ERR_TAKEN", "description": "has already been taken"}],
            "email": [{"error": "ERR_TAKEN", "description": "has already been taken"}],
        },
    }
    assert users() == 1


# ---------------------------------------------------------------- rate limit


@pytest.mark.parametrize("settings", [{"REGISTRATIONS_MODE": "open"}])
def test_five_attempts_per_address_every_half_hour(fedikit_client: FlaskClient) -> None:
    token = app_only_token(fedikit_client)
    for n in range(5):  # refused attempts count as well, as in Mastodon
        password = "short" if n % 2 else "long enough pw"
        response = sign_up(fedikit_client, token, username=f"user{n}", email=f"user{n}@example.com", password=password)
        assert response.status_code in (200, 422), response.text
    assert response.headers["X-RateLimit-Limit"] == "5" and response.headers["X-RateLimit-Remaining"] == "0"
    limited = sign_up(fedikit_client, token, username="one_more")
    assert limited.status_code == 429 and limited.json == {"error": "Too many requests"}
    assert users() == 3
    # other calls from the same address are not held back by it
    assert fedikit_client.get("/api/v1/instance").status_code == 200
