"""Daily-use endpoints through HTTP, as a client calls them."""

from __future__ import annotations

from typing import Any

from contract import validate, validate_list
from flask.testing import FlaskClient


def post(client: FlaskClient, user: Any, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/statuses", data={"status": text, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json


def test_notifications(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=bob.headers)
    status = post(fedikit_client, alice, "hello")
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob.headers)
    post(fedikit_client, bob, "hey @alice")
    listed = fedikit_client.get("/api/v1/notifications", headers=alice.headers)
    assert [n["type"] for n in listed.json] == ["mention", "favourite", "follow"]
    validate_list(listed.json, "Notification")
    only = fedikit_client.get("/api/v1/notifications?types[]=favourite&types[]=follow", headers=alice.headers).json
    assert [n["type"] for n in only] == ["favourite", "follow"]
    excluded = fedikit_client.get("/api/v1/notifications?exclude_types[]=mention", headers=alice.headers).json
    assert [n["type"] for n in excluded] == ["favourite", "follow"]
    first = listed.json[0]["id"]
    assert fedikit_client.get(f"/api/v1/notifications/{first}", headers=bob.headers).status_code == 404
    assert fedikit_client.post(f"/api/v1/notifications/{first}/dismiss", headers=alice.headers).json == {}
    assert len(fedikit_client.get("/api/v1/notifications", headers=alice.headers).json) == 2
    fedikit_client.post("/api/v1/notifications/clear", headers=alice.headers)
    assert fedikit_client.get("/api/v1/notifications", headers=alice.headers).json == []


def test_bookmark_and_who_favourited_or_boosted(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post(fedikit_client, alice, "keep me")
    marked = fedikit_client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=bob.headers).json
    assert marked["bookmarked"] is True
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/bookmark", headers=bob.headers)  # twice is fine
    unmarked = fedikit_client.post(f"/api/v1/statuses/{status['id']}/unbookmark", headers=bob.headers).json
    assert unmarked["bookmarked"] is False
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=bob.headers)
    fedikit_client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=bob.headers)
    favourited_by = fedikit_client.get(f"/api/v1/statuses/{status['id']}/favourited_by").json
    reblogged_by = fedikit_client.get(f"/api/v1/statuses/{status['id']}/reblogged_by").json
    assert [a["username"] for a in favourited_by] == [a["username"] for a in reblogged_by] == ["bob"]
    validate_list(favourited_by, "Account")


def test_block_mute_and_follow_lists(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    for follower in (bob, carol):
        fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=follower.headers)
    followers = fedikit_client.get(f"/api/v1/accounts/{alice.account.id}/followers?limit=1")
    assert [a["username"] for a in followers.json] == ["carol"]
    assert 'rel="next"' in followers.headers["Link"]
    following = fedikit_client.get(f"/api/v1/accounts/{bob.account.id}/following").json
    assert [a["username"] for a in following] == ["alice"]

    muted = fedikit_client.post(
        f"/api/v1/accounts/{bob.account.id}/mute", data={"notifications": "false"}, headers=alice.headers
    ).json
    assert muted["muting"] is True and muted["muting_notifications"] is False
    validate(muted, "Relationship")
    blocked = fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/block", headers=alice.headers).json
    assert blocked["blocking"] is True and blocked["followed_by"] is False  # the block ended bob's follow
    unblocked = fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/unblock", headers=alice.headers).json
    assert unblocked["blocking"] is False


def test_tag_timeline_any_all_none(fedikit_client: FlaskClient, api_user: Any) -> None:
    cats = post(fedikit_client, api_user, "#cats")
    both = post(fedikit_client, api_user, "#cats #dogs")
    dogs = post(fedikit_client, api_user, "#dogs")
    post(fedikit_client, api_user, "#cats hidden", visibility="unlisted")

    def ids(query: str) -> list[str]:
        return [s["id"] for s in fedikit_client.get(f"/api/v1/timelines/tag/{query}").json]

    assert ids("cats") == [both["id"], cats["id"]]
    assert ids("Cats?any[]=dogs") == [dogs["id"], both["id"], cats["id"]]
    assert ids("cats?all[]=dogs") == [both["id"]]
    assert ids("cats?none[]=dogs") == [cats["id"]]


def test_pagination_with_link_headers(fedikit_client: FlaskClient, api_user: Any) -> None:
    made = [post(fedikit_client, api_user, f"n{n}")["id"] for n in range(5)]
    first = fedikit_client.get("/api/v1/timelines/home?limit=2", headers=api_user.headers)
    assert [s["id"] for s in first.json] == made[::-1][:2]
    links = dict(
        (rel, url)
        for url, rel in (
            (part.split(";")[0].strip(" <>"), part.split('rel="')[1].rstrip('"'))
            for part in first.headers["Link"].split(",")
        )
    )
    older = fedikit_client.get(links["next"].replace("https://fedikit.test", ""), headers=api_user.headers).json
    assert [s["id"] for s in older] == made[::-1][2:4]
    newer = fedikit_client.get(f"/api/v1/timelines/home?min_id={made[1]}&limit=2", headers=api_user.headers).json
    assert [s["id"] for s in newer] == [made[3], made[2]]


def test_bad_input_gets_mastodon_errors(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers
    assert fedikit_client.get("/api/v1/statuses/99999999999999999999").status_code == 404
    assert fedikit_client.get("/api/v1/statuses/9999999999999999999").status_code == 404
    assert fedikit_client.get("/api/v1/statuses/abc").status_code == 404
    too_long = fedikit_client.post("/api/v1/statuses", data={"status": "x" * 501}, headers=headers)
    assert too_long.status_code == 422 and "character limit of 500" in too_long.json["error"]
    blank = fedikit_client.post("/api/v1/statuses", data={"status": ""}, headers=headers)
    assert blank.status_code == 422
    language = fedikit_client.post("/api/v1/statuses", data={"status": "hi", "language": "zz-" * 20}, headers=headers)
    assert language.status_code == 422
    visibility = fedikit_client.post("/api/v1/statuses", data={"status": "hi", "visibility": "secret"}, headers=headers)
    assert visibility.status_code == 422
    malformed = fedikit_client.post(
        "/api/v1/statuses", data="{not json", content_type="application/json", headers=headers
    )
    assert malformed.status_code == 422
    media = fedikit_client.post("/api/v1/statuses", data={"status": "hi", "media_ids[]": "123"}, headers=headers)
    assert media.status_code == 422
    assert fedikit_client.get("/api/v1/timelines/home", headers=headers).json == []  # nothing was stored


def test_json_bodies_and_trailing_slashes(fedikit_client: FlaskClient, api_user: Any) -> None:
    made = fedikit_client.post(
        "/api/v1/statuses/",
        json={"status": "from json", "sensitive": True, "spoiler_text": "cw"},
        headers=api_user.headers,
    )
    assert made.status_code == 200 and made.json["sensitive"] is True
    validate(made.json, "Status")
    assert fedikit_client.get(f"/api/v1/statuses/{made.json['id']}/").status_code == 200
    deleted = fedikit_client.delete(f"/api/v1/statuses/{made.json['id']}", headers=api_user.headers)
    assert deleted.json["text"] == "from json"


def test_public_timeline_only_media(fedikit_client: FlaskClient, api_user: Any) -> None:
    import io

    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 200)).save(image, "PNG")
    image.seek(0)
    media = fedikit_client.post("/api/v2/media", data={"file": (image, "blue.png")}, headers=api_user.headers).json
    with_media = post(fedikit_client, api_user, "a picture", **{"media_ids[]": media["id"]})
    post(fedikit_client, api_user, "just words")
    only = fedikit_client.get("/api/v1/timelines/public?only_media=true").json
    assert [s["id"] for s in only] == [with_media["id"]]
    assert len(fedikit_client.get("/api/v1/timelines/public").json) == 2


def test_following_with_notify_brings_status_notifications(
    fedikit_app: Any, fedikit_client: FlaskClient, make_api_user: Any
) -> None:
    from fedikit.plugin_api.testing import settle

    alice, bob = make_api_user("alice"), make_api_user("bob")
    fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", data={"notify": "true"}, headers=bob.headers)
    posted = post(fedikit_client, alice, "news!")
    settle(fedikit_app)  # the "status" notification comes from a job: let it run before the next post
    post(fedikit_client, alice, "a direct message to @bob", visibility="direct")
    settle(fedikit_app)
    told = fedikit_client.get("/api/v1/notifications", headers=bob.headers).json
    assert [n["type"] for n in told] == ["mention", "status"]
    assert told[1]["status"]["id"] == posted["id"]


def test_nul_characters_never_reach_the_database(fedikit_client: FlaskClient, api_user: Any) -> None:
    """PostgreSQL refuses NUL in text: a client sending one gets its post, without the NUL."""
    posted = fedikit_client.post(
        "/api/v1/statuses", json={"status": "nul\x00here", "spoiler_text": "cw\x00"}, headers=api_user.headers
    )
    assert posted.status_code == 200, posted.text
    source = fedikit_client.get(f"/api/v1/statuses/{posted.json['id']}/source", headers=api_user.headers).json
    assert source["text"] == "nulhere" and source["spoiler_text"] == "cw"
