"""Every rate-limit rule triggers on its own route, keyed on who the caller really is."""

from __future__ import annotations

from typing import Any

import pytest

from fedikit.core.services import accounts

LIMITS = {
    "authenticated_api": (6, 300),
    "per_token_api": (4, 300),
    "unauthenticated_api": (3, 300),
    "sign_in_ip": (2, 300),
    "sign_in_login": (3, 3600),
    "media_uploads": (1, 1800),
    "deletes": (1, 1800),
}
UNTRUSTED = {"REMOTE_ADDR": "203.0.113.5"}


@pytest.fixture
def fedikit_config() -> dict[str, Any]:
    return {"RATE_LIMITS": LIMITS}


def token(client: Any, username: str) -> dict[str, str]:
    accounts.create_local_account(username, f"{username}@example.com", "correct horse battery", confirmed=True)
    app = client.post(
        "/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}
    ).json
    answer = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": "correct horse battery",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read write",
        },
        environ_base={"REMOTE_ADDR": f"198.51.100.{len(username)}"},  # keep sign-in counters apart
    ).json
    return {"Authorization": f"Bearer {answer['access_token']}"}


def test_unauthenticated_api_by_ip(fedikit_client: Any) -> None:
    for _ in range(3):
        ok = fedikit_client.get("/api/v1/timelines/public", environ_base=UNTRUSTED)
        assert ok.status_code == 200
    assert ok.headers["X-RateLimit-Limit"] == "3" and ok.headers["X-RateLimit-Remaining"] == "0"
    limited = fedikit_client.get("/api/v1/timelines/public", environ_base=UNTRUSTED)
    assert limited.status_code == 429 and limited.json == {"error": "Too many requests"}
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")
    other = fedikit_client.get("/api/v1/timelines/public", environ_base={"REMOTE_ADDR": "203.0.113.6"})
    assert other.status_code == 200


def test_forged_forwarded_for_from_an_untrusted_peer_changes_nothing(fedikit_client: Any) -> None:
    for n in range(3):
        fedikit_client.get(
            "/api/v1/timelines/public", environ_base=UNTRUSTED, headers={"X-Forwarded-For": f"192.0.2.{n}"}
        )
    forged = fedikit_client.get(
        "/api/v1/timelines/public", environ_base=UNTRUSTED, headers={"X-Forwarded-For": "192.0.2.99"}
    )
    assert forged.status_code == 429


def test_trusted_proxy_names_the_caller(fedikit_client: Any) -> None:
    proxy = {"REMOTE_ADDR": "127.0.0.1"}
    for _ in range(3):
        fedikit_client.get("/api/v1/timelines/public", environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.1"})
    assert (
        fedikit_client.get(
            "/api/v1/timelines/public", environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.1"}
        ).status_code
        == 429
    )
    behind_same_proxy = fedikit_client.get(
        "/api/v1/timelines/public", environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.2"}
    )
    assert behind_same_proxy.status_code == 200


def test_ipv6_callers_share_their_64(fedikit_client: Any) -> None:
    for suffix in ("1", "2", "3"):
        fedikit_client.get("/api/v1/timelines/public", environ_base={"REMOTE_ADDR": f"2001:db8:1:2::{suffix}"})
    same_network = fedikit_client.get("/api/v1/timelines/public", environ_base={"REMOTE_ADDR": "2001:db8:1:2::ff"})
    assert same_network.status_code == 429


def test_per_token_and_per_user(fedikit_app: Any, fedikit_client: Any) -> None:
    first = token(fedikit_client, "alice")
    for _ in range(4):
        assert fedikit_client.get("/api/v1/timelines/home", headers=first).status_code == 200
    assert fedikit_client.get("/api/v1/timelines/home", headers=first).status_code == 429
    app = fedikit_client.post(
        "/api/v1/apps", data={"client_name": "t2", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}
    ).json
    second_token = fedikit_client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "correct horse battery",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read",
        },
        environ_base={"REMOTE_ADDR": "198.51.100.200"},
    ).json["access_token"]
    second = {"Authorization": f"Bearer {second_token}"}
    assert fedikit_client.get("/api/v1/timelines/home", headers=second).status_code == 200  # a new token...
    assert fedikit_client.get("/api/v1/timelines/home", headers=second).status_code == 429  # ...same user: 6 in all


def test_sign_in_by_ip_and_by_login(fedikit_client: Any) -> None:
    def attempt(login: str, ip: str) -> int:
        fedikit_client.get("/auth/sign_in")
        with fedikit_client.session_transaction() as session:
            csrf = session["csrf"]
        response = fedikit_client.post(
            "/auth/sign_in", data={"email": login, "password": "wrong", "csrf": csrf}, environ_base={"REMOTE_ADDR": ip}
        )
        return response.status_code

    assert [attempt("a@example.com", "203.0.113.7") for _ in range(3)] == [401, 401, 429]  # per IP
    assert [attempt("victim@example.com", f"203.0.113.{n}") for n in range(20, 24)] == [401, 401, 401, 429]  # per login


class TestWriteLimits:
    @pytest.fixture
    def fedikit_config(self) -> dict[str, Any]:
        return {"RATE_LIMITS": {**LIMITS, "authenticated_api": (100, 300), "per_token_api": (100, 300)}}

    def test_deletes_and_media_uploads(self, fedikit_app: Any, fedikit_client: Any) -> None:
        _deletes_and_media_uploads(fedikit_client)


def _deletes_and_media_uploads(fedikit_client: Any) -> None:
    headers = token(fedikit_client, "carol")
    made = [fedikit_client.post("/api/v1/statuses", data={"status": f"s{n}"}, headers=headers).json for n in range(2)]
    assert fedikit_client.delete(f"/api/v1/statuses/{made[0]['id']}", headers=headers).status_code == 200
    assert fedikit_client.delete(f"/api/v1/statuses/{made[1]['id']}", headers=headers).status_code == 429
    first = fedikit_client.post("/api/v2/media", headers=headers)
    assert first.status_code != 429
    assert fedikit_client.post("/api/v2/media", headers=headers).status_code == 429


def test_limits_from_the_environment_syntax() -> None:
    from fedikit.core.app import create_app
    from fedikit.core.ratelimit import parse_overrides
    from fedikit.plugin_api import StartupError

    assert parse_overrides("per_token_api=100000/300, deletes=5/60") == {
        "per_token_api": (100000, 300),
        "deletes": (5, 60),
    }
    for bad in ("per_token_api=lots", "nonsense=1/1", "deletes=0/60"):
        with pytest.raises(StartupError, match="RATE_LIMITS"):
            parse_overrides(bad)
    with pytest.raises(StartupError, match="unknown rule"):
        create_app({"RATE_LIMITS": "typo=1/1"}, environ={}, env_file=False)
