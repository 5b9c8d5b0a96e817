"""Core's pages: the health check and signing in."""

from __future__ import annotations

from typing import Any

import pytest

from fedikit.core.services import accounts


@pytest.fixture
def owner(fedikit_app: Any) -> Any:
    return accounts.create_local_account(
        "owner", "owner@example.com", "correct horse battery", role="owner", confirmed=True
    )


def csrf(client: Any) -> str:
    client.get("/auth/sign_in")
    with client.session_transaction() as session:
        return session["csrf"]


def test_health(fedikit_client: Any) -> None:
    response = fedikit_client.get("/health")
    assert (response.status_code, response.text, response.mimetype) == (200, "OK", "text/plain")


def test_sign_in_and_out(fedikit_client: Any, owner: Any) -> None:
    assert "Sign in" in fedikit_client.get("/").text
    token = csrf(fedikit_client)
    response = fedikit_client.post(
        "/auth/sign_in?next=/somewhere",
        data={"email": "OWNER@example.com", "password": "correct horse battery", "csrf": token},
    )
    assert (response.status_code, response.headers["Location"]) == (302, "/somewhere")
    assert "Signed in as <strong>@owner</strong> (owner)" in fedikit_client.get("/").text
    assert owner.current_sign_in_at is not None
    fedikit_client.post("/auth/sign_out", data={"csrf": csrf(fedikit_client)})
    assert "Signed in" not in fedikit_client.get("/").text


@pytest.mark.parametrize("login", ["owner", "owner@example.com", "nobody@example.com"])
def test_wrong_password_is_refused_the_same_way(fedikit_client: Any, owner: Any, login: str) -> None:
    response = fedikit_client.post(
        "/auth/sign_in", data={"email": login, "password": "wrong", "csrf": csrf(fedikit_client)}
    )
    assert response.status_code == 401
    assert "Invalid e-mail address or password." in response.text


def test_sign_in_needs_the_form_token(fedikit_client: Any, owner: Any) -> None:
    response = fedikit_client.post("/auth/sign_in", data={"email": "owner", "password": "correct horse battery"})
    assert response.status_code == 422


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_no_open_redirect(fedikit_client: Any, owner: Any, target: str) -> None:
    token = csrf(fedikit_client)
    response = fedikit_client.post(
        f"/auth/sign_in?next={target}", data={"email": "owner", "password": "correct horse battery", "csrf": token}
    )
    assert response.headers["Location"] == "/"


def test_disabled_user_cannot_sign_in(fedikit_app: Any, fedikit_client: Any, owner: Any) -> None:
    from fedikit.core.db import db

    owner.disabled = True
    db.session.commit()
    token = csrf(fedikit_client)
    response = fedikit_client.post(
        "/auth/sign_in", data={"email": "owner", "password": "correct horse battery", "csrf": token}
    )
    assert response.status_code == 401


def test_api_errors_are_json(fedikit_client: Any) -> None:
    response = fedikit_client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert set(response.get_json()) == {"error"}


def test_media_is_served_with_safe_headers(fedikit_app: Any, fedikit_client: Any) -> None:
    store = fedikit_app.extensions["fedikit"].media
    if store.public_urls:
        pytest.skip("this media store's files are served by the storage, not the app")
    store.put("media/aa/note.json", b'{"type": "Note"}', "application/json")
    response = fedikit_client.get("/system/media/aa/note.json")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "activity+json" not in response.content_type
    assert fedikit_client.get("/system/media/../secret_key_base").status_code == 404
    assert fedikit_client.get("/system/media/aa/missing.png").status_code == 404


def test_unconfirmed_or_suspended_accounts_cannot_sign_in(fedikit_app: Any, fedikit_client: Any) -> None:
    from fedikit.core.db import db, utcnow

    user = accounts.create_local_account("newbie", "newbie@example.com", "correct horse battery")
    form = {"email": "newbie", "password": "correct horse battery", "csrf": csrf(fedikit_client)}
    response = fedikit_client.post("/auth/sign_in", data=form)
    assert response.status_code == 401 and "confirm your e-mail address" in response.text
    user.confirmed_at = utcnow()
    user.account.suspended_at = utcnow()
    db.session.commit()
    response = fedikit_client.post("/auth/sign_in", data={**form, "csrf": csrf(fedikit_client)})
    assert response.status_code == 401 and "suspended" in response.text


def test_form_token_that_is_not_ascii_is_refused(fedikit_client: Any, owner: Any) -> None:
    csrf(fedikit_client)
    response = fedikit_client.post("/auth/sign_in", data={"email": "owner", "password": "x", "csrf": "é"})
    assert response.status_code == 422
