"""Search, follow requests, the viewer's saved lists, profile updates and CORS."""

from __future__ import annotations

from typing import Any

from contract import validate, validate_list
from flask.testing import FlaskClient

from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.plugin_api import hookimpl
from fedikit.plugin_api.testing import register_plugin, settle


def post(client: FlaskClient, user: Any, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/statuses", data={"status": text, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json


def test_search_accounts_statuses_and_hashtags(
    fedikit_app: Any, fedikit_client: FlaskClient, make_api_user: Any
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bobby")
    public = post(fedikit_client, bob, "the quick #Brownfox jumps")
    post(fedikit_client, bob, "quick but private", visibility="private")
    settle(fedikit_app)
    found = fedikit_client.get("/api/v2/search?q=quick", headers=alice.headers).json
    assert [s["id"] for s in found["statuses"]] == [public["id"]]  # alice does not follow bob
    validate(found, "Search")
    accounts = fedikit_client.get("/api/v2/search?q=bobby&type=accounts", headers=alice.headers).json
    assert [a["username"] for a in accounts["accounts"]] == ["bobby"] and accounts["statuses"] == []
    tags = fedikit_client.get("/api/v2/search?q=%23brown&type=hashtags").json
    assert [t["name"] for t in tags["hashtags"]] == ["brownfox"]
    anonymous = fedikit_client.get("/api/v2/search?q=quick").json
    assert anonymous["statuses"] == []  # status search needs a signed-in user
    assert fedikit_client.get("/api/v2/search?q=").status_code == 400
    assert fedikit_client.get("/api/v2/search?q=x&offset=5").status_code == 401


def test_search_resolves_handles_through_plugins(fedikit_app: Any, fedikit_client: FlaskClient, api_user: Any) -> None:
    class Resolver:
        @hookimpl
        def resolve_account(self, acct: str) -> Any:
            username, _, domain = acct.partition("@")
            account = Account(username=username, domain=domain, uri=f"https://{domain}/users/{username}")
            db.session.add(account)
            db.session.commit()
            return account

    with register_plugin(fedikit_app, Resolver()):
        stored_only = fedikit_client.get("/api/v2/search?q=zed@remote.example", headers=api_user.headers).json
        assert stored_only["accounts"] == []
        resolved = fedikit_client.get(
            "/api/v2/search?q=@zed@remote.example&resolve=true", headers=api_user.headers
        ).json
    assert [a["acct"] for a in resolved["accounts"]] == ["zed@remote.example"]


def test_follow_requests(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    fedikit_client.patch("/api/v1/accounts/update_credentials", data={"locked": "true"}, headers=alice.headers)
    for follower in (bob, carol):
        requested = fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=follower.headers).json
        assert requested["requested"] is True and requested["following"] is False
    pending = fedikit_client.get("/api/v1/follow_requests", headers=alice.headers).json
    assert [a["username"] for a in pending] == ["carol", "bob"]
    accepted = fedikit_client.post(f"/api/v1/follow_requests/{bob.account.id}/authorize", headers=alice.headers).json
    assert accepted["followed_by"] is True
    fedikit_client.post(f"/api/v1/follow_requests/{carol.account.id}/reject", headers=alice.headers)
    assert fedikit_client.get("/api/v1/follow_requests", headers=alice.headers).json == []
    again = fedikit_client.post(f"/api/v1/follow_requests/{carol.account.id}/authorize", headers=alice.headers)
    assert again.status_code == 404  # no pending request from carol any more


def test_saved_lists(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post(fedikit_client, bob, "save me")
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=alice.headers)
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=alice.headers)
    for path in ("/api/v1/favourites", "/api/v1/bookmarks"):
        listed = fedikit_client.get(path, headers=alice.headers).json
        assert [s["id"] for s in listed] == [status["id"]]
        validate_list(listed, "Status")
    fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/mute", headers=alice.headers)
    assert [a["username"] for a in fedikit_client.get("/api/v1/mutes", headers=alice.headers).json] == ["bob"]
    fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/block", headers=alice.headers)
    assert [a["username"] for a in fedikit_client.get("/api/v1/blocks", headers=alice.headers).json] == ["bob"]


def test_domain_blocks(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers
    assert fedikit_client.post("/api/v1/domain_blocks", data={"domain": "Spam.Example"}, headers=headers).json == {}
    fedikit_client.post("/api/v1/domain_blocks", data={"domain": "spam.example"}, headers=headers)
    assert fedikit_client.get("/api/v1/domain_blocks", headers=headers).json == ["spam.example"]
    assert fedikit_client.post("/api/v1/domain_blocks", data={"domain": "a/b"}, headers=headers).status_code == 422
    fedikit_client.delete("/api/v1/domain_blocks", data={"domain": "spam.example"}, headers=headers)
    assert fedikit_client.get("/api/v1/domain_blocks", headers=headers).json == []


def test_update_credentials(fedikit_client: FlaskClient, api_user: Any) -> None:
    response = fedikit_client.patch(
        "/api/v1/accounts/update_credentials",
        data={
            "display_name": "Alice A.",
            "note": "Hello #world",
            "bot": "1",
            "fields_attributes[0][name]": "Site",
            "fields_attributes[0][value]": "https://alice.example",
            "source[privacy]": "unlisted",
            "source[sensitive]": "true",
        },
        headers=api_user.headers,
    )
    assert response.status_code == 200, response.text
    me = response.json
    validate(me, "CredentialAccount")
    assert (me["display_name"], me["bot"], me["source"]["privacy"], me["source"]["sensitive"]) == (
        "Alice A.",
        True,
        "unlisted",
        True,
    )
    assert me["fields"][0]["name"] == "Site" and 'class="mention hashtag"' in me["note"]
    assert me["source"]["note"] == "Hello #world"
    # the default privacy is used when a post names none
    assert post(fedikit_client, api_user, "default")["visibility"] == "unlisted"
    bad = fedikit_client.patch(
        "/api/v1/accounts/update_credentials", data={"source[privacy]": "direct"}, headers=api_user.headers
    )
    assert bad.status_code == 422
    too_long = fedikit_client.patch(
        "/api/v1/accounts/update_credentials", data={"display_name": "x" * 31}, headers=api_user.headers
    )
    assert too_long.status_code == 422


def test_cors_preflight_and_headers(fedikit_client: FlaskClient) -> None:
    preflight = fedikit_client.options(
        "/api/v1/timelines/home",
        headers={"Origin": "https://phanpy.example", "Access-Control-Request-Headers": "authorization"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    token = fedikit_client.options("/oauth/token", headers={"Origin": "https://elk.example"})
    assert token.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in fedikit_client.get("/auth/sign_in").headers
    assert "Link" in fedikit_client.get("/api/v1/timelines/public").headers["Access-Control-Expose-Headers"]


def test_followed_tags(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    followed = fedikit_client.post("/api/v1/tags/Birds/follow", headers=alice.headers)
    assert followed.status_code == 200 and followed.json["following"] is True and followed.json["name"] == "birds"
    validate(followed.json, "Tag")
    assert [t["name"] for t in fedikit_client.get("/api/v1/followed_tags", headers=alice.headers).json] == ["birds"]
    sighting = post(fedikit_client, bob, "a heron! #birds")
    home = fedikit_client.get("/api/v1/timelines/home", headers=alice.headers).json
    assert [s["id"] for s in home] == [sighting["id"]]
    assert fedikit_client.get("/api/v1/tags/birds").json["name"] == "birds"
    assert fedikit_client.get("/api/v1/tags/nope").status_code == 404
    assert fedikit_client.post("/api/v1/tags/not%20a%20tag/follow", headers=alice.headers).status_code == 422
    fedikit_client.post("/api/v1/tags/birds/unfollow", headers=alice.headers)
    assert fedikit_client.get("/api/v1/timelines/home", headers=alice.headers).json == []
