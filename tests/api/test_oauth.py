"""OAuth 2 as clients use it: apps, the sign-in and consent pages, codes with PKCE, tokens, revocation."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient

from fedikit.core.services.accounts import create_local_account

OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK = "https://client.example/callback"


@pytest.fixture
def app_credentials(fedikit_client: FlaskClient) -> dict[str, Any]:
    response = fedikit_client.post(
        "/api/v1/apps",
        json={"client_name": "Test client", "redirect_uris": [OOB, CALLBACK], "scopes": "read write follow push"},
    )
    assert response.status_code == 200
    return response.json


@pytest.fixture
def person(fedikit_app: Any) -> Any:
    return create_local_account("dora", "dora@example.com", "correct horse battery", confirmed=True)


def sign_in(client: FlaskClient, next_path: str) -> Any:
    query = urlencode({"next": next_path})
    page = client.get(f"/auth/sign_in?{query}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(
        f"/auth/sign_in?{query}",
        data={"email": "dora@example.com", "password": "correct horse battery", "csrf": csrf},
    )


def authorize(client: FlaskClient, query: str, decision: str = "approve") -> Any:
    page = client.get(f"/oauth/authorize?{query}")
    if page.status_code == 302:  # not signed in yet: the sign-in page sends us back
        assert "/auth/sign_in" in page.headers["Location"]
        back = sign_in(client, parse_qs(urlsplit(page.headers["Location"]).query)["next"][0])
        page = client.get(back.headers["Location"])
    assert page.status_code == 200, page.text
    assert "Test client" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(f"/oauth/authorize?{query}", data={"csrf": csrf, "decision": decision})


def test_apps_accept_form_and_json_and_validate(fedikit_client: FlaskClient) -> None:
    form = fedikit_client.post("/api/v1/apps", data={"client_name": "A", "redirect_uris": OOB})
    assert form.status_code == 200 and form.json["scopes"] == ["read"]
    assert form.json["redirect_uri"] == OOB and form.json["client_secret"]
    assert fedikit_client.post("/api/v1/apps/", data={"redirect_uris": OOB}).status_code == 422
    bad_scope = fedikit_client.post("/api/v1/apps", data={"client_name": "A", "redirect_uris": OOB, "scopes": "root"})
    assert bad_scope.status_code == 422 and "root" in bad_scope.json["error"]
    bad_uri = fedikit_client.post("/api/v1/apps", data={"client_name": "A", "redirect_uris": "not a uri"})
    assert bad_uri.status_code == 422


def test_authorization_code_flow_with_pkce(fedikit_client: FlaskClient, app_credentials: dict, person: Any) -> None:
    verifier = "a" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = (
        f"response_type=code&client_id={app_credentials['client_id']}&redirect_uri={CALLBACK}"
        f"&scope=read+write&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
        "&force_login=False&lang=None"
    )
    response = authorize(fedikit_client, query)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    returned = parse_qs(location.query)
    assert returned["state"] == ["xyz"]
    code = returned["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app_credentials["client_id"],
        "client_secret": app_credentials["client_secret"],
        "redirect_uri": CALLBACK,
    }
    assert fedikit_client.post("/oauth/token", data={**exchange, "code_verifier": "wrong" * 10}).status_code == 400
    token = fedikit_client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert token.status_code == 200, token.text
    assert token.json["scope"] == "read write" and token.json["token_type"] == "Bearer"
    assert "expires_in" not in token.json and isinstance(token.json["created_at"], int)
    again = fedikit_client.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert again.status_code == 400  # a code works once
    me = fedikit_client.get(
        "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token.json['access_token']}"}
    )
    assert me.json["username"] == "dora"


def test_out_of_band_code_is_shown(fedikit_client: FlaskClient, app_credentials: dict, person: Any) -> None:
    query = f"response_type=code&client_id={app_credentials['client_id']}&redirect_uri={OOB}&scope=read"
    page = authorize(fedikit_client, query)
    assert page.status_code == 200
    code = re.search(r'id="code" readonly value="([^"]+)"', page.text).group(1)
    token = fedikit_client.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app_credentials["client_id"],
            "client_secret": app_credentials["client_secret"],
            "redirect_uri": OOB,
        },
    )
    assert token.status_code == 200 and token.json["scope"] == "read"


def test_denied_authorization_redirects_with_an_error(
    fedikit_client: FlaskClient, app_credentials: dict, person: Any
) -> None:
    query = f"response_type=code&client_id={app_credentials['client_id']}&redirect_uri={CALLBACK}&scope=read"
    response = authorize(fedikit_client, query, decision="deny")
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["access_denied"]


def test_authorize_refuses_unregistered_redirects_and_scopes(
    fedikit_client: FlaskClient, app_credentials: dict, person: Any
) -> None:
    sign_in(fedikit_client, "/")
    cid = app_credentials["client_id"]
    wrong_uri = fedikit_client.get(
        f"/oauth/authorize?response_type=code&client_id={cid}&redirect_uri=https://evil.example"
    )
    assert wrong_uri.status_code == 400
    unknown = fedikit_client.get(f"/oauth/authorize?response_type=code&client_id=nope&redirect_uri={OOB}")
    assert unknown.status_code == 400


def test_password_grant_refresh_and_revoke(fedikit_client: FlaskClient, app_credentials: dict, person: Any) -> None:
    client = {"client_id": app_credentials["client_id"], "client_secret": app_credentials["client_secret"]}
    bad = fedikit_client.post(
        "/oauth/token", data={"grant_type": "password", "username": "dora", "password": "nope", **client}
    )
    assert bad.status_code == 400
    token = fedikit_client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "dora@example.com",
            "password": "correct horse battery",
            **client,
            "scope": "read",
        },
    ).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert fedikit_client.get("/api/v1/accounts/verify_credentials", headers=headers).status_code == 200
    # a read token cannot post
    assert fedikit_client.post("/api/v1/statuses", data={"status": "hi"}, headers=headers).status_code == 403

    refreshed = fedikit_client.post(
        "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], **client}
    )
    assert refreshed.status_code == 200
    new_headers = {"Authorization": f"Bearer {refreshed.json['access_token']}"}
    assert fedikit_client.get("/api/v1/accounts/verify_credentials", headers=new_headers).status_code == 200

    revoked = fedikit_client.post("/oauth/revoke", data={"token": refreshed.json["access_token"], **client})
    assert revoked.status_code == 200
    assert fedikit_client.get("/api/v1/accounts/verify_credentials", headers=new_headers).status_code == 401


def test_client_credentials_token_is_app_only(fedikit_client: FlaskClient, app_credentials: dict) -> None:
    token = fedikit_client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app_credentials["client_id"],
            "client_secret": app_credentials["client_secret"],
            "scope": "read",
        },
    ).json
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    verified = fedikit_client.get("/api/v1/apps/verify_credentials", headers=headers)
    assert verified.status_code == 200 and verified.json["name"] == "Test client"
    assert "client_secret" not in verified.json
    assert fedikit_client.get("/api/v1/accounts/verify_credentials", headers=headers).status_code == 422


def test_server_metadata(fedikit_client: FlaskClient) -> None:
    meta = fedikit_client.get("/.well-known/oauth-authorization-server").json
    assert meta["token_endpoint"] == "https://fedikit.test/oauth/token"
    assert set(meta["grant_types_supported"]) >= {"authorization_code", "password", "client_credentials"}
    assert "S256" in meta["code_challenge_methods_supported"] and "read:statuses" in meta["scopes_supported"]


def test_bad_and_missing_tokens(fedikit_client: FlaskClient) -> None:
    assert fedikit_client.get("/api/v1/timelines/home").status_code == 401
    bad = fedikit_client.get("/api/v1/timelines/home", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.json == {"error": "The access token is invalid"}


def test_tokens_of_users_who_may_not_sign_in_get_mastodons_403(fedikit_client: FlaskClient, api_user: Any) -> None:
    from fedikit.core.db import db, utcnow

    user = api_user.user
    cases = [
        ("disabled", True, "Your login is currently disabled"),
        ("confirmed_at", None, "Your login is missing a confirmed e-mail address"),
        ("approved", False, "Your login is currently pending approval"),
    ]
    for field, value, message in cases:
        kept = getattr(user, field)
        setattr(user, field, value)
        db.session.commit()
        refused = fedikit_client.get("/api/v1/accounts/verify_credentials", headers=api_user.headers)
        assert refused.status_code == 403 and refused.json == {"error": message}, field
        setattr(user, field, kept)
        db.session.commit()
    user.account.suspended_at = utcnow()
    db.session.commit()
    refused = fedikit_client.get("/api/v1/accounts/verify_credentials", headers=api_user.headers)
    assert refused.status_code == 403 and refused.json == {"error": "Your login is currently disabled"}
