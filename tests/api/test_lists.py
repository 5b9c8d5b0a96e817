"""Lists through HTTP: CRUD, members, the lists holding an account, the list timeline, per-user scoping."""

from __future__ import annotations

from typing import Any

from contract import validate, validate_list
from flask.testing import FlaskClient


def post(client: FlaskClient, user: Any, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/statuses", data={"status": text, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json


def follow(client: FlaskClient, follower: Any, target: Any) -> None:
    response = client.post(f"/api/v1/accounts/{target.account.id}/follow", headers=follower.headers)
    assert response.status_code == 200, response.text


def make_list(client: FlaskClient, user: Any, title: str = "Friends", **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/lists", json={"title": title, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    validate(response.json, "List")
    return response.json


def links(response: Any) -> dict[str, str]:
    return {
        part.split('rel="')[1].rstrip('"'): part.split(";")[0].strip(" <>").replace("https://fedikit.test", "")
        for part in response.headers["Link"].split(",")
    }


def test_list_crud(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers
    made = fedikit_client.post("/api/v1/lists", data={"title": "Friends"}, headers=headers)
    assert made.status_code == 200
    assert made.json["title"] == "Friends"
    assert made.json["replies_policy"] == "list" and made.json["exclusive"] is False
    validate(made.json, "List")
    second = make_list(fedikit_client, api_user, "Work", replies_policy="none", exclusive=True)
    assert second["replies_policy"] == "none" and second["exclusive"] is True

    listed = fedikit_client.get("/api/v1/lists", headers=headers).json
    validate_list(listed, "List")
    assert [entry["title"] for entry in listed] == ["Friends", "Work"]
    shown = fedikit_client.get(f"/api/v1/lists/{made.json['id']}", headers=headers)
    assert shown.json == made.json

    changed = fedikit_client.put(
        f"/api/v1/lists/{made.json['id']}", data={"replies_policy": "followed", "exclusive": "true"}, headers=headers
    )
    assert changed.status_code == 200
    assert changed.json == {**made.json, "replies_policy": "followed", "exclusive": True}  # title kept
    validate(changed.json, "List")
    renamed = fedikit_client.put(f"/api/v1/lists/{made.json['id']}", json={"title": "Pals"}, headers=headers).json
    assert renamed["title"] == "Pals" and renamed["exclusive"] is True

    deleted = fedikit_client.delete(f"/api/v1/lists/{made.json['id']}", headers=headers)
    assert deleted.status_code == 200 and deleted.json == {}
    assert fedikit_client.get(f"/api/v1/lists/{made.json['id']}", headers=headers).status_code == 404
    assert [entry["title"] for entry in fedikit_client.get("/api/v1/lists", headers=headers).json] == ["Work"]


def test_list_input_is_validated(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers
    assert fedikit_client.post("/api/v1/lists", data={"title": ""}, headers=headers).status_code == 422
    assert fedikit_client.post("/api/v1/lists", data={}, headers=headers).status_code == 422
    too_long = fedikit_client.post("/api/v1/lists", data={"title": "x" * 256}, headers=headers)
    assert too_long.status_code == 422 and "too long" in too_long.json["error"]
    assert fedikit_client.post("/api/v1/lists", data={"title": "x" * 255}, headers=headers).status_code == 200
    policy = fedikit_client.post("/api/v1/lists", data={"title": "t", "replies_policy": "all"}, headers=headers)
    assert policy.status_code == 422
    made = make_list(fedikit_client, api_user)
    assert (
        fedikit_client.put(f"/api/v1/lists/{made['id']}", data={"title": "y" * 256}, headers=headers).status_code == 422
    )
    assert fedikit_client.put(f"/api/v1/lists/{made['id']}", data={"title": " "}, headers=headers).status_code == 422
    assert fedikit_client.get(f"/api/v1/lists/{made['id']}", headers=headers).json["title"] == "Friends"
    assert fedikit_client.get("/api/v1/lists/abc", headers=headers).status_code == 404
    assert fedikit_client.get("/api/v1/lists/99999999999999999999", headers=headers).status_code == 404


def test_list_limit_per_account(fedikit_client: FlaskClient, api_user: Any) -> None:
    for n in range(50):
        make_list(fedikit_client, api_user, f"list {n}")
    over = fedikit_client.post("/api/v1/lists", data={"title": "one more"}, headers=api_user.headers)
    assert over.status_code == 422


def test_scopes(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    reader = make_api_user("reader", scopes="read")
    assert fedikit_client.get("/api/v1/lists", headers=reader.headers).status_code == 200
    assert fedikit_client.post("/api/v1/lists", data={"title": "t"}, headers=reader.headers).status_code == 403
    narrow = make_api_user("narrow", scopes="read:lists write:lists")
    made = make_list(fedikit_client, narrow)
    assert fedikit_client.get(f"/api/v1/timelines/list/{made['id']}", headers=narrow.headers).status_code == 200
    statuses_only = make_api_user("statuses", scopes="read:statuses")
    assert fedikit_client.get("/api/v1/lists", headers=statuses_only.headers).status_code == 403
    assert fedikit_client.get("/api/v1/lists").status_code == 401


def test_another_users_list_is_not_found(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    follow(fedikit_client, bob, alice)
    mine = make_list(fedikit_client, alice)
    path = f"/api/v1/lists/{mine['id']}"
    assert fedikit_client.get(path, headers=bob.headers).status_code == 404
    assert fedikit_client.put(path, data={"title": "taken"}, headers=bob.headers).status_code == 404
    assert fedikit_client.delete(path, headers=bob.headers).status_code == 404
    assert fedikit_client.get(f"{path}/accounts", headers=bob.headers).status_code == 404
    added = fedikit_client.post(f"{path}/accounts", data={"account_ids[]": alice.account.id}, headers=bob.headers)
    assert added.status_code == 404
    assert (
        fedikit_client.delete(f"{path}/accounts", data={"account_ids[]": "1"}, headers=bob.headers).status_code == 404
    )
    assert fedikit_client.get(f"/api/v1/timelines/list/{mine['id']}", headers=bob.headers).status_code == 404
    assert fedikit_client.get("/api/v1/lists", headers=bob.headers).json == []
    assert fedikit_client.get(path, headers=alice.headers).json == mine  # untouched


def test_list_members(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol, dave = (make_api_user(n) for n in ("alice", "bob", "carol", "dave"))
    follow(fedikit_client, alice, bob)
    follow(fedikit_client, alice, carol)
    made = make_list(fedikit_client, alice)
    path = f"/api/v1/lists/{made['id']}/accounts"

    added = fedikit_client.post(
        path, data={"account_ids[]": [str(bob.account.id), str(carol.account.id)]}, headers=alice.headers
    )
    assert added.status_code == 200 and added.json == {}
    members = fedikit_client.get(path, headers=alice.headers)
    validate_list(members.json, "Account")
    assert {a["username"] for a in members.json} == {"bob", "carol"}

    # not followed: 404, and nothing of the request is kept
    refused = fedikit_client.post(path, json={"account_ids": [str(dave.account.id)]}, headers=alice.headers)
    assert refused.status_code == 404
    missing = fedikit_client.post(path, json={"account_ids": ["12345"]}, headers=alice.headers)
    assert missing.status_code == 404
    again = fedikit_client.post(path, json={"account_ids": [str(bob.account.id)]}, headers=alice.headers)
    assert again.status_code == 422
    assert len(fedikit_client.get(path, headers=alice.headers).json) == 2

    first = fedikit_client.get(f"{path}?limit=1", headers=alice.headers)
    assert len(first.json) == 1 and 'rel="next"' in first.headers["Link"]
    second = fedikit_client.get(links(first)["next"], headers=alice.headers).json
    assert {first.json[0]["username"], second[0]["username"]} == {"bob", "carol"}
    everyone = fedikit_client.get(f"{path}?limit=0", headers=alice.headers)
    assert len(everyone.json) == 2 and "Link" not in everyone.headers

    holding = fedikit_client.get(f"/api/v1/accounts/{bob.account.id}/lists", headers=alice.headers)
    validate_list(holding.json, "List")
    assert [entry["id"] for entry in holding.json] == [made["id"]]
    assert fedikit_client.get(f"/api/v1/accounts/{bob.account.id}/lists", headers=carol.headers).json == []
    assert fedikit_client.get(f"/api/v1/accounts/{dave.account.id}/lists", headers=alice.headers).json == []
    assert fedikit_client.get("/api/v1/accounts/12345/lists", headers=alice.headers).status_code == 404

    removed = fedikit_client.delete(path, data={"account_ids[]": str(carol.account.id)}, headers=alice.headers)
    assert removed.status_code == 200 and removed.json == {}
    assert [a["username"] for a in fedikit_client.get(path, headers=alice.headers).json] == ["bob"]
    assert fedikit_client.get(f"/api/v1/accounts/{carol.account.id}/lists", headers=alice.headers).json == []

    # unfollowing takes the account out of the owner's lists
    fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/unfollow", headers=alice.headers)
    assert fedikit_client.get(path, headers=alice.headers).json == []


def test_list_timeline(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    follow(fedikit_client, alice, bob)
    follow(fedikit_client, alice, carol)
    made = make_list(fedikit_client, alice)
    fedikit_client.post(
        f"/api/v1/lists/{made['id']}/accounts", data={"account_ids[]": str(bob.account.id)}, headers=alice.headers
    )
    ids = [post(fedikit_client, bob, f"bob {n}")["id"] for n in range(3)]
    post(fedikit_client, carol, "carol, not in the list")
    timeline = fedikit_client.get(f"/api/v1/timelines/list/{made['id']}?limit=2", headers=alice.headers)
    assert timeline.status_code == 200
    validate_list(timeline.json, "Status")
    assert [s["id"] for s in timeline.json] == ids[::-1][:2]
    older = fedikit_client.get(links(timeline)["next"], headers=alice.headers).json
    assert [s["id"] for s in older] == ids[:1]
    assert fedikit_client.get("/api/v1/timelines/list/12345", headers=alice.headers).status_code == 404
    assert fedikit_client.get(f"/api/v1/timelines/list/{made['id']}", headers=bob.headers).status_code == 404


def test_exclusive_list_members_leave_the_home_timeline(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    follow(fedikit_client, alice, bob)
    follow(fedikit_client, alice, carol)
    exclusive = make_list(fedikit_client, alice, "Exclusive", exclusive=True)
    fedikit_client.post(
        f"/api/v1/lists/{exclusive['id']}/accounts", data={"account_ids[]": str(bob.account.id)}, headers=alice.headers
    )
    from_bob = post(fedikit_client, bob, "only in the list")
    from_carol = post(fedikit_client, carol, "at home")
    own = post(fedikit_client, alice, "mine")
    listed = fedikit_client.get(f"/api/v1/timelines/list/{exclusive['id']}", headers=alice.headers).json
    assert [s["id"] for s in listed] == [from_bob["id"]]
    at_home = fedikit_client.get("/api/v1/timelines/home", headers=alice.headers).json
    assert [s["id"] for s in at_home] == [own["id"], from_carol["id"]]
    # a list that is not exclusive leaves the home timeline as it is
    fedikit_client.put(f"/api/v1/lists/{exclusive['id']}", data={"exclusive": "false"}, headers=alice.headers)
    at_home = fedikit_client.get("/api/v1/timelines/home", headers=alice.headers).json
    assert [s["id"] for s in at_home] == [own["id"], from_carol["id"], from_bob["id"]]


def test_list_replies_policy(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    """Mastodon's rule: threads and replies to the owner always; other replies as the list's policy says."""
    alice, bob, carol, dave, erin = (make_api_user(name) for name in ("alice", "bob", "carol", "dave", "erin"))
    for followed in (bob, carol, dave):
        follow(fedikit_client, alice, followed)
    policies = ("followed", "list", "none")
    made = {policy: make_list(fedikit_client, alice, policy, replies_policy=policy) for policy in policies}
    for policy, entry in made.items():
        members = [bob.account.id, carol.account.id] if policy == "list" else [bob.account.id]
        added = fedikit_client.post(
            f"/api/v1/lists/{entry['id']}/accounts",
            json={"account_ids": [str(m) for m in members]},
            headers=alice.headers,
        )
        assert added.status_code == 200, added.text
    start = {who.account.username: post(fedikit_client, who, "hello") for who in (alice, bob, carol, dave, erin)}

    def reply(to: str, text: str) -> str:
        return post(fedikit_client, bob, text, in_reply_to_id=start[to]["id"])["id"]

    plain = post(fedikit_client, bob, "no reply")["id"]
    thread, to_owner = reply("bob", "more from me"), reply("alice", "hi alice")
    to_member, to_followed, to_stranger = reply("carol", "hi carol"), reply("dave", "hi dave"), reply("erin", "hi erin")

    def shown(policy: str) -> list[str]:
        response = fedikit_client.get(f"/api/v1/timelines/list/{made[policy]['id']}", headers=alice.headers)
        assert response.status_code == 200, response.text
        validate_list(response.json, "Status")
        return [s["id"] for s in response.json]

    always = [to_owner, thread, plain]
    assert shown("followed") == [to_followed, to_member, *always, start["bob"]["id"]]
    assert shown("list") == [to_member, *always, start["carol"]["id"], start["bob"]["id"]]
    assert shown("none") == [*always, start["bob"]["id"]]
    assert to_stranger not in shown("followed")
    # the policy is read when the feed is: changing it changes what the list shows
    changed = fedikit_client.put(
        f"/api/v1/lists/{made['none']['id']}", data={"replies_policy": "followed"}, headers=alice.headers
    )
    assert changed.status_code == 200 and changed.json["replies_policy"] == "followed"
    assert shown("none") == shown("followed")
    # unfollowing the account replied to takes the reply out of a "followed" list read from SQL; a precomputed
    # list keeps what it was given, as Mastodon's lists do (the unfollow takes out that account's own posts)
    fedikit_client.post(f"/api/v1/accounts/{dave.account.id}/unfollow", headers=alice.headers)
    if not fedikit_client.application.extensions["fedikit"].feeds.precomputed:
        assert to_followed not in shown("followed")
