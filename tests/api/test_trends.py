"""Trends through HTTP: off by default; when on, hashtags and statuses ranked by distinct accounts."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from contract import validate, validate_list
from flask.testing import FlaskClient

from fedikit.core.db import db, utcnow
from fedikit.core.ids import id_at
from fedikit.core.models import Account, Favourite, Status
from fedikit.core.services import tags as tag_service
from fedikit.core.services.trends import day_starts

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser


@pytest.fixture
def trends_enabled() -> bool:
    return True


@pytest.fixture
def fedikit_config(database: dict[str, str], trends_enabled: bool) -> dict[str, Any]:
    return {**database, "TRENDS_ENABLED": "true" if trends_enabled else "false"}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json


def post(client: FlaskClient, who: ApiUser, text: str, **fields: str) -> dict[str, Any]:
    return ok(client.post("/api/v1/statuses", data={"status": text, **fields}, headers=who.headers))


def act(client: FlaskClient, who: ApiUser, status: dict[str, Any], action: str) -> None:
    ok(client.post(f"/api/v1/statuses/{status['id']}/{action}", headers=who.headers))


def remote_account(username: str, domain: str = "far.example") -> Account:
    account = Account(username=username, domain=domain, uri=f"https://{domain}/users/{username}")
    db.session.add(account)
    db.session.commit()
    return account


def stored_status(author: Account, when: dt.datetime, text: str = "stored", tags: tuple[str, ...] = ()) -> Status:
    """A public status written straight to the database, created at ``when`` (its id says so too)."""
    status_id = id_at(when)
    domain = author.domain or "fedikit.test"
    status = Status(
        id=status_id,
        uri=f"https://{domain}/statuses/{status_id}",
        account=author,
        local=author.domain is None,
        text=text,
        content=f"<p>{text}</p>",
        created_at=when,
    )
    status.tags = [tag_service.find_or_create(name) for name in tags]
    db.session.add(status)
    db.session.commit()
    return status


def links(response: Any) -> dict[str, str]:
    header = response.headers.get("Link", "")
    return {
        part.split('rel="')[1].rstrip('"'): part.split(";")[0].strip(" <>").replace("https://fedikit.test", "")
        for part in header.split(",")
        if part
    }


# ---------------------------------------------------------------- off by default


@pytest.mark.parametrize("trends_enabled", [False])
def test_trends_are_empty_while_off(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    posted = post(fedikit_client, alice, "popular #gardening")
    act(fedikit_client, bob, posted, "favourite")
    for kind in ("tags", "statuses", "links"):
        response = fedikit_client.get(f"/api/v1/trends/{kind}")
        assert ok(response) == [] and "Link" not in response.headers
        assert ok(fedikit_client.get(f"/api/v1/trends/{kind}", headers=bob.headers)) == []
    # the hashtag's own history is there whether or not trends are shown
    tag = ok(fedikit_client.get("/api/v1/tags/gardening"))
    assert tag["history"][0]["uses"] == "1" and tag["history"][0]["accounts"] == "1"


def test_trends_are_off_unless_turned_on(fedikit_app: Any) -> None:
    from fedikit.core.config import DEFAULTS

    assert DEFAULTS["TRENDS_ENABLED"] == "false"
    assert fedikit_app.extensions["fedikit"].config["TRENDS_ENABLED"] is True  # this module turns them on


# ---------------------------------------------------------------- hashtags


def test_trending_tags_rank_by_distinct_accounts(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    for who in (alice, bob, carol):
        post(fedikit_client, who, "#Gardening today")
    for _ in range(4):  # many uses by one account weigh less than a few accounts
        post(fedikit_client, alice, "#cooking again")
    post(fedikit_client, bob, "#cooking too")
    post(fedikit_client, carol, "#quiet in private", visibility="private")
    post(fedikit_client, carol, "#quiet unlisted", visibility="unlisted")
    far = remote_account("far")
    stored_status(far, utcnow(), "#knitting from afar", ("knitting",))
    old = stored_status(far, day_starts()[-1] - dt.timedelta(hours=1), "#ancient", ("ancient",))
    assert old.id

    trending = ok(fedikit_client.get("/api/v1/trends/tags"))
    validate_list(trending, "Tag")
    assert [t["name"] for t in trending] == ["gardening", "cooking", "knitting"]
    gardening = trending[0]
    assert gardening["url"] == "https://fedikit.test/tags/gardening"
    assert "following" not in gardening  # anonymous
    assert len(gardening["history"]) == 7
    assert gardening["history"][0] == {
        "day": str(int(day_starts()[0].timestamp())),
        "uses": "3",
        "accounts": "3",
    }
    assert all(day == {**day, "uses": "0", "accounts": "0"} for day in gardening["history"][1:])
    cooking = trending[1]["history"][0]
    assert (cooking["uses"], cooking["accounts"]) == ("5", "2")

    # a boost is not a use
    act(fedikit_client, carol, post(fedikit_client, bob, "#knitting here"), "reblog")
    assert ok(fedikit_client.get("/api/v1/tags/knitting"))["history"][0]["uses"] == "2"

    # a followed tag says so to its follower
    ok(fedikit_client.post("/api/v1/tags/cooking/follow", headers=bob.headers))
    signed_in = ok(fedikit_client.get("/api/v1/trends/tags", headers=bob.headers))
    validate_list(signed_in, "Tag")
    assert [t["following"] for t in signed_in] == [False, True, False]


def test_tag_history_counts_each_day(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    far, near = remote_account("far"), remote_account("near", "near.example")
    two_days_ago = day_starts()[2] + dt.timedelta(hours=12)
    stored_status(far, two_days_ago, "#history one", ("history",))
    stored_status(far, two_days_ago + dt.timedelta(minutes=5), "#history two", ("history",))
    stored_status(near, two_days_ago, "#history three", ("history",))
    stored_status(near, utcnow(), "#history now", ("history",))
    tag = ok(fedikit_client.get("/api/v1/tags/history"))
    validate(tag, "Tag")
    assert [(day["uses"], day["accounts"]) for day in tag["history"]] == [
        ("1", "1"),
        ("0", "0"),
        ("3", "2"),
        ("0", "0"),
        ("0", "0"),
        ("0", "0"),
        ("0", "0"),
    ]
    days = [int(day["day"]) for day in tag["history"]]
    assert days == sorted(days, reverse=True) and days[0] - days[1] == 86400
    # tags found by search carry their history too
    found = ok(fedikit_client.get("/api/v2/search?q=%23history&type=hashtags"))["hashtags"]
    assert [t["history"] for t in found] == [tag["history"]]


def test_untrendable_tags_and_silenced_or_suspended_authors_do_not_trend(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    post(fedikit_client, alice, "#hidden topic")
    post(fedikit_client, bob, "#loud topic")
    post(fedikit_client, alice, "#fine topic")
    tag_service.find("hidden").trendable = False
    bob.account.silenced_at = utcnow()
    db.session.commit()
    assert [t["name"] for t in ok(fedikit_client.get("/api/v1/trends/tags"))] == ["fine"]
    alice.account.suspended_at = utcnow()
    db.session.commit()
    assert ok(fedikit_client.get("/api/v1/trends/tags")) == []


def test_trending_tags_page_by_offset(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    people = [make_api_user(f"user{n}") for n in range(4)]
    for rank, name in enumerate(["one", "two", "three", "four"]):
        for who in people[: 4 - rank]:
            post(fedikit_client, who, f"#{name}")
    first = fedikit_client.get("/api/v1/trends/tags?limit=2")
    assert [t["name"] for t in ok(first)] == ["one", "two"]
    assert links(first) == {"next": "/api/v1/trends/tags?limit=2&offset=2"}
    second = fedikit_client.get(links(first)["next"])
    assert [t["name"] for t in ok(second)] == ["three", "four"]
    assert links(second) == {
        "next": "/api/v1/trends/tags?limit=2&offset=4",
        "prev": "/api/v1/trends/tags?limit=2&offset=0",
    }
    assert ok(fedikit_client.get("/api/v1/trends/tags?limit=2&offset=4")) == []
    assert len(ok(fedikit_client.get("/api/v1/trends/tags?limit=500"))) == 4  # capped at 20, Mastodon's maximum
    assert [t["name"] for t in ok(fedikit_client.get("/api/v1/trends/tags?offset=-3&limit=1"))] == ["one"]
    bad = fedikit_client.get("/api/v1/trends/tags?limit=many")
    assert bad.status_code == 422 and bad.json == {"error": "limit must be a whole number"}


# ---------------------------------------------------------------- statuses


def test_trending_statuses_rank_by_distinct_interactions(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob, carol, dave = (make_api_user(name) for name in ("alice", "bob", "carol", "dave"))
    liked = post(fedikit_client, alice, "liked by two")
    boosted = post(fedikit_client, bob, "boosted and liked by three")
    post(fedikit_client, carol, "nobody cares")
    act(fedikit_client, bob, liked, "favourite")
    act(fedikit_client, carol, liked, "favourite")
    act(fedikit_client, alice, liked, "favourite")  # the author's own does not count
    for who in (alice, carol, dave):
        act(fedikit_client, who, boosted, "reblog")
    act(fedikit_client, carol, boosted, "favourite")  # carol boosted it too: still one account
    act(fedikit_client, dave, boosted, "favourite")
    far = remote_account("far")
    remote = stored_status(far, utcnow(), "from afar")
    db.session.add(Favourite(account_id=dave.account.id, status_id=remote.id))
    db.session.commit()

    trending = ok(fedikit_client.get("/api/v1/trends/statuses"))
    validate_list(trending, "Status")
    assert [s["id"] for s in trending] == [boosted["id"], liked["id"], str(remote.id)]
    assert trending[2]["account"]["acct"] == "far@far.example"

    as_carol = ok(fedikit_client.get("/api/v1/trends/statuses", headers=carol.headers))
    validate_list(as_carol, "Status")
    assert [(s["favourited"], s["reblogged"]) for s in as_carol] == [(True, True), (True, False), (False, False)]

    page = fedikit_client.get("/api/v1/trends/statuses?limit=1&offset=1")
    assert [s["id"] for s in ok(page)] == [liked["id"]]
    assert links(page) == {
        "next": "/api/v1/trends/statuses?limit=1&offset=2",
        "prev": "/api/v1/trends/statuses?limit=1&offset=0",
    }


def test_only_eligible_statuses_trend(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    ok(fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/follow", headers=bob.headers))
    eligible = post(fedikit_client, alice, "trend me")
    ineligible = [
        post(fedikit_client, alice, "followers only", visibility="private"),
        post(fedikit_client, alice, "unlisted", visibility="unlisted"),
        post(fedikit_client, alice, "behind a warning", spoiler_text="cw"),
        post(fedikit_client, alice, "sensitive", sensitive="true"),
        post(fedikit_client, alice, "a reply", in_reply_to_id=eligible["id"]),
    ]
    for status in [eligible, *ineligible]:
        act(fedikit_client, bob, status, "favourite")
    hidden_author = make_api_user("hermit")
    hermit_post = post(fedikit_client, hidden_author, "not discoverable")
    act(fedikit_client, bob, hermit_post, "favourite")
    hidden_author.account.discoverable = False
    far = remote_account("far")
    old = stored_status(far, utcnow() - dt.timedelta(days=4), "too old to trend")
    db.session.add(Favourite(account_id=carol.account.id, status_id=old.id))
    db.session.commit()

    for headers in ({}, bob.headers, carol.headers):
        trending = ok(fedikit_client.get("/api/v1/trends/statuses", headers=headers))
        assert [s["id"] for s in trending] == [eligible["id"]]


def test_trending_statuses_leave_out_what_the_viewer_blocked_or_muted(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob, carol, dave = (make_api_user(name) for name in ("alice", "bob", "carol", "dave"))
    from_alice = post(fedikit_client, alice, "from alice")
    from_bob = post(fedikit_client, bob, "from bob")
    act(fedikit_client, dave, from_alice, "favourite")
    act(fedikit_client, dave, from_bob, "favourite")
    ok(fedikit_client.post(f"/api/v1/accounts/{alice.account.id}/block", headers=carol.headers))
    ok(fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/mute", headers=carol.headers))
    assert ok(fedikit_client.get("/api/v1/trends/statuses", headers=carol.headers)) == []
    everyone = ok(fedikit_client.get("/api/v1/trends/statuses"))
    assert {s["id"] for s in everyone} == {from_alice["id"], from_bob["id"]}
    # an author who blocks the viewer is not shown to them either
    ok(fedikit_client.post(f"/api/v1/accounts/{dave.account.id}/block", headers=bob.headers))
    as_dave = ok(fedikit_client.get("/api/v1/trends/statuses", headers=dave.headers))
    assert [s["id"] for s in as_dave] == [from_alice["id"]]


def test_trending_links_stay_empty(fedikit_client: FlaskClient) -> None:
    assert ok(fedikit_client.get("/api/v1/trends/links")) == []
