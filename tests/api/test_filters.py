"""Filters (v2) through HTTP, and the ``filtered`` field of statuses."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from contract import validate, validate_list
from flask.testing import FlaskClient
from sqlalchemy import event

from fedikit.core.db import db
from fedikit.core.models import CustomFilter


def post(client: FlaskClient, user: Any, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/statuses", data={"status": text, **fields}, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json


def follow(client: FlaskClient, follower: Any, target: Any) -> None:
    response = client.post(f"/api/v1/accounts/{target.account.id}/follow", headers=follower.headers)
    assert response.status_code == 200, response.text


def make_filter(client: FlaskClient, user: Any, **body: Any) -> dict[str, Any]:
    body = {"title": "Spoilers", "context": ["home"], **body}
    response = client.post("/api/v2/filters", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    validate(response.json, "Filter")
    return response.json


def home(client: FlaskClient, user: Any) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/timelines/home", headers=user.headers)
    assert response.status_code == 200
    validate_list(response.json, "Status")
    return {s["id"]: s for s in response.json}


def test_filter_crud(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers
    made = make_filter(
        fedikit_client,
        api_user,
        context=["home", "public"],
        filter_action="hide",
        expires_in=3600,
        keywords_attributes=[{"keyword": "tv show", "whole_word": False}, {"keyword": "finale"}],
    )
    assert made["title"] == "Spoilers" and made["context"] == ["home", "public"] and made["filter_action"] == "hide"
    assert [(k["keyword"], k["whole_word"]) for k in made["keywords"]] == [("tv show", False), ("finale", True)]
    assert made["statuses"] == []
    expires = dt.datetime.fromisoformat(made["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=59) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)

    listed = fedikit_client.get("/api/v2/filters", headers=headers)
    validate_list(listed.json, "Filter")
    assert listed.json == [made]
    assert fedikit_client.get(f"/api/v2/filters/{made['id']}", headers=headers).json == made

    tv, finale = made["keywords"]
    changed = fedikit_client.put(
        f"/api/v2/filters/{made['id']}",
        json={
            "title": "No spoilers",
            "context": ["thread"],
            "filter_action": "blur",
            "expires_in": None,
            "keywords_attributes": [
                {"id": tv["id"], "keyword": "tv series"},
                {"id": finale["id"], "_destroy": True},
                {"keyword": "ending", "whole_word": False},
            ],
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    validate(changed.json, "Filter")
    assert changed.json["title"] == "No spoilers" and changed.json["context"] == ["thread"]
    assert changed.json["filter_action"] == "blur" and changed.json["expires_at"] is None
    assert [(k["keyword"], k["whole_word"]) for k in changed.json["keywords"]] == [
        ("tv series", False),
        ("ending", False),
    ]
    assert changed.json["keywords"][0]["id"] == tv["id"]

    partial = fedikit_client.put(f"/api/v2/filters/{made['id']}", data={"title": "Renamed"}, headers=headers).json
    assert partial == {**changed.json, "title": "Renamed"}

    deleted = fedikit_client.delete(f"/api/v2/filters/{made['id']}", headers=headers)
    assert deleted.status_code == 200 and deleted.json == {}
    assert fedikit_client.get(f"/api/v2/filters/{made['id']}", headers=headers).status_code == 404
    assert fedikit_client.get(f"/api/v2/filters/keywords/{tv['id']}", headers=headers).status_code == 404


def test_form_bodies_with_keywords_attributes(fedikit_client: FlaskClient, api_user: Any) -> None:
    body = urlencode(
        [
            ("title", "Form"),
            ("context[]", "home"),
            ("context[]", "notifications"),
            ("keywords_attributes[][keyword]", "one"),
            ("keywords_attributes[][keyword]", "two"),
            ("keywords_attributes[][whole_word]", "false"),
        ]
    )
    made = fedikit_client.post(
        "/api/v2/filters", data=body, content_type="application/x-www-form-urlencoded", headers=api_user.headers
    )
    assert made.status_code == 200, made.text
    validate(made.json, "Filter")
    assert made.json["context"] == ["home", "notifications"]
    # Rails' reading: a repeated field starts a new entry, so whole_word belongs to "two"
    assert [(k["keyword"], k["whole_word"]) for k in made.json["keywords"]] == [("one", True), ("two", False)]
    indexed = fedikit_client.post(
        "/api/v2/filters",
        data={
            "title": "Indexed",
            "context[]": "home",
            "keywords_attributes[0][keyword]": "alpha",
            "keywords_attributes[0][whole_word]": "false",
            "keywords_attributes[1][keyword]": "beta",
        },
        headers=api_user.headers,
    )
    assert [(k["keyword"], k["whole_word"]) for k in indexed.json["keywords"]] == [("alpha", False), ("beta", True)]


def test_filter_input_is_validated(fedikit_client: FlaskClient, api_user: Any) -> None:
    headers = api_user.headers

    def create(**body: Any) -> Any:
        return fedikit_client.post("/api/v2/filters", json={"title": "t", "context": ["home"], **body}, headers=headers)

    assert create(title="").status_code == 422
    assert create(context=[]).status_code == 422
    assert create(context=["home", "everywhere"]).status_code == 422
    assert create(filter_action="delete").status_code == 422
    assert create(expires_in="soon").status_code == 422
    too_long = create(title="x" * 256)
    assert too_long.status_code == 422 and "too long" in too_long.json["error"]
    assert create(title="x" * 255).status_code == 200
    assert create(keywords_attributes=[{"keyword": "k" * 256}]).status_code == 422
    assert create(keywords_attributes=[{"keyword": "", "whole_word": True}]).status_code == 422
    assert create(keywords_attributes=[{"id": "1", "keyword": "new"}]).status_code == 404
    skipped = create(keywords_attributes=[{"keyword": "gone", "_destroy": True}])
    assert skipped.status_code == 200 and skipped.json["keywords"] == []
    assert len(fedikit_client.get("/api/v2/filters", headers=headers).json) == 2  # nothing half-made was kept

    made = make_filter(fedikit_client, api_user, keywords_attributes=[{"keyword": "ok"}])
    path = f"/api/v2/filters/{made['id']}"
    assert fedikit_client.put(path, json={"title": "y" * 256}, headers=headers).status_code == 422
    assert fedikit_client.put(path, json={"context": ["nowhere"]}, headers=headers).status_code == 422
    long_keyword = {"keywords_attributes": [{"keyword": "k" * 256}]}
    assert fedikit_client.put(path, json=long_keyword, headers=headers).status_code == 422
    assert fedikit_client.post(f"{path}/keywords", json={"keyword": "k" * 256}, headers=headers).status_code == 422
    assert fedikit_client.post(f"{path}/keywords", json={"keyword": " "}, headers=headers).status_code == 422
    keyword_id = made["keywords"][0]["id"]
    too_long_keyword = {"keyword": "k" * 256}
    put_keyword = fedikit_client.put(f"/api/v2/filters/keywords/{keyword_id}", json=too_long_keyword, headers=headers)
    assert put_keyword.status_code == 422
    assert fedikit_client.get(path, headers=headers).json == made  # unchanged


def test_keywords_and_statuses(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    made = make_filter(fedikit_client, alice)
    path = f"/api/v2/filters/{made['id']}"

    added = fedikit_client.post(
        f"{path}/keywords", data={"keyword": "cat", "whole_word": "false"}, headers=alice.headers
    )
    assert added.status_code == 200
    validate(added.json, "FilterKeyword")
    assert added.json["keyword"] == "cat" and added.json["whole_word"] is False
    default = fedikit_client.post(f"{path}/keywords", json={"keyword": "dog"}, headers=alice.headers).json
    assert default["whole_word"] is True
    listed = fedikit_client.get(f"{path}/keywords", headers=alice.headers).json
    validate_list(listed, "FilterKeyword")
    assert [k["keyword"] for k in listed] == ["cat", "dog"]
    keyword_path = f"/api/v2/filters/keywords/{added.json['id']}"
    assert fedikit_client.get(keyword_path, headers=alice.headers).json == added.json
    changed = fedikit_client.put(keyword_path, json={"keyword": "kitten", "whole_word": True}, headers=alice.headers)
    assert changed.json == {"id": added.json["id"], "keyword": "kitten", "whole_word": True}
    assert fedikit_client.delete(keyword_path, headers=alice.headers).json == {}
    assert fedikit_client.get(keyword_path, headers=alice.headers).status_code == 404

    status = post(fedikit_client, bob, "filter me")
    filtered = fedikit_client.post(f"{path}/statuses", data={"status_id": status["id"]}, headers=alice.headers)
    assert filtered.status_code == 200
    validate(filtered.json, "FilterStatus")
    assert filtered.json["status_id"] == status["id"]
    again = fedikit_client.post(f"{path}/statuses", data={"status_id": status["id"]}, headers=alice.headers)
    assert again.status_code == 422
    assert (
        fedikit_client.post(f"{path}/statuses", data={"status_id": "12345"}, headers=alice.headers).status_code == 422
    )
    private = post(fedikit_client, bob, "only for followers", visibility="private")
    hidden = fedikit_client.post(f"{path}/statuses", data={"status_id": private["id"]}, headers=alice.headers)
    assert hidden.status_code == 422
    statuses = fedikit_client.get(f"{path}/statuses", headers=alice.headers).json
    validate_list(statuses, "FilterStatus")
    assert statuses == [filtered.json]
    status_path = f"/api/v2/filters/statuses/{filtered.json['id']}"
    assert fedikit_client.get(status_path, headers=alice.headers).json == filtered.json
    assert fedikit_client.get(path, headers=alice.headers).json["statuses"] == [filtered.json]
    assert fedikit_client.delete(status_path, headers=alice.headers).status_code == 200
    assert fedikit_client.get(status_path, headers=alice.headers).status_code == 404


def test_another_users_filter_objects_are_not_found(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    status = post(fedikit_client, alice, "public words")
    made = make_filter(fedikit_client, alice, keywords_attributes=[{"keyword": "words"}])
    keyword_id = made["keywords"][0]["id"]
    status_filter = fedikit_client.post(
        f"/api/v2/filters/{made['id']}/statuses", data={"status_id": status["id"]}, headers=alice.headers
    ).json
    path = f"/api/v2/filters/{made['id']}"
    keyword_path = f"/api/v2/filters/keywords/{keyword_id}"
    status_path = f"/api/v2/filters/statuses/{status_filter['id']}"
    other = bob.headers
    assert fedikit_client.get(path, headers=other).status_code == 404
    assert fedikit_client.put(path, json={"title": "mine now"}, headers=other).status_code == 404
    assert fedikit_client.delete(path, headers=other).status_code == 404
    assert fedikit_client.get(f"{path}/keywords", headers=other).status_code == 404
    assert fedikit_client.post(f"{path}/keywords", json={"keyword": "x"}, headers=other).status_code == 404
    assert fedikit_client.get(f"{path}/statuses", headers=other).status_code == 404
    added = fedikit_client.post(f"{path}/statuses", json={"status_id": status["id"]}, headers=other)
    assert added.status_code == 404
    assert fedikit_client.get(keyword_path, headers=other).status_code == 404
    assert fedikit_client.put(keyword_path, json={"keyword": "x"}, headers=other).status_code == 404
    assert fedikit_client.delete(keyword_path, headers=other).status_code == 404
    assert fedikit_client.get(status_path, headers=other).status_code == 404
    assert fedikit_client.delete(status_path, headers=other).status_code == 404
    assert fedikit_client.get("/api/v2/filters", headers=other).json == []
    # someone else's keyword cannot be changed through one's own filter either
    own = make_filter(fedikit_client, bob)
    hijack = {"keywords_attributes": [{"id": keyword_id, "keyword": "stolen"}]}
    assert fedikit_client.put(f"/api/v2/filters/{own['id']}", json=hijack, headers=other).status_code == 404
    assert fedikit_client.get(path, headers=alice.headers).json == fedikit_client.get(path, headers=alice.headers).json
    assert fedikit_client.get(keyword_path, headers=alice.headers).json["keyword"] == "words"


def test_scopes(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    reader = make_api_user("reader", scopes="read:filters")
    assert fedikit_client.get("/api/v2/filters", headers=reader.headers).status_code == 200
    created = fedikit_client.post("/api/v2/filters", json={"title": "t", "context": ["home"]}, headers=reader.headers)
    assert created.status_code == 403
    other = make_api_user("other", scopes="read:statuses")
    assert fedikit_client.get("/api/v2/filters", headers=other.headers).status_code == 403


def test_filtered_field_on_home_statuses(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    follow(fedikit_client, alice, bob)
    whole = post(fedikit_client, bob, "I love my Cat so much")
    partial = post(fedikit_client, bob, "concatenate strings")
    html = post(fedikit_client, bob, "a <b>cat</b>-like thing")
    warned = post(fedikit_client, bob, "nothing here", spoiler_text="CAT content")
    plain = post(fedikit_client, bob, "dogs only")
    pinned = post(fedikit_client, bob, "filtered by id")

    words = make_filter(
        fedikit_client, alice, title="Cats", keywords_attributes=[{"keyword": "cat", "whole_word": True}]
    )
    parts = make_filter(
        fedikit_client,
        alice,
        title="Parts",
        context=["notifications"],
        filter_action="hide",
        keywords_attributes=[{"keyword": "CONCAT", "whole_word": False}],
    )
    by_id = make_filter(fedikit_client, alice, title="By id", filter_action="blur")
    fedikit_client.post(
        f"/api/v2/filters/{by_id['id']}/statuses", data={"status_id": pinned["id"]}, headers=alice.headers
    )

    seen = home(fedikit_client, alice)
    for entity in seen.values():
        for result in entity["filtered"]:
            validate(result, "FilterResult")
            assert "keywords" not in result["filter"] and "statuses" not in result["filter"]

    def results(status: dict[str, Any]) -> list[tuple[str, Any, Any]]:
        return [
            (r["filter"]["title"], r["keyword_matches"], r["status_matches"]) for r in seen[status["id"]]["filtered"]
        ]

    assert results(whole) == [("Cats", ["Cat"], None)]  # the text as written, case-insensitively
    # whole_word: "concatenate" holds "cat" but not as a word; the partial keyword matches it
    # (a filter for another context is still reported: clients apply the context and the action)
    assert results(partial) == [("Parts", ["concat"], None)]
    assert results(html) == [("Cats", ["cat"], None)]
    assert results(warned) == [("Cats", ["CAT"], None)]
    assert results(plain) == []
    assert results(pinned) == [("By id", None, [pinned["id"]])]
    hide = seen[partial["id"]]["filtered"][0]["filter"]
    assert hide == {k: parts[k] for k in ("id", "title", "context", "expires_at", "filter_action")}
    assert words["id"] != parts["id"]

    # the author does not see alice's filters; nobody does without a token
    assert all(s["filtered"] == [] for s in home(fedikit_client, bob).values())
    public = fedikit_client.get("/api/v1/timelines/public").json
    assert all(s["filtered"] == [] for s in public)
    shown = fedikit_client.get(f"/api/v1/statuses/{whole['id']}", headers=alice.headers).json
    assert [r["filter"]["title"] for r in shown["filtered"]] == ["Cats"]


def test_boosts_are_matched_on_the_boosted_status(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    follow(fedikit_client, alice, bob)
    original = post(fedikit_client, carol, "a cat picture")
    boost = fedikit_client.post(f"/api/v1/statuses/{original['id']}/reblog", headers=bob.headers).json
    make_filter(fedikit_client, alice, keywords_attributes=[{"keyword": "cat"}])
    by_id = make_filter(fedikit_client, alice, title="Original")
    fedikit_client.post(
        f"/api/v2/filters/{by_id['id']}/statuses", data={"status_id": original["id"]}, headers=alice.headers
    )
    seen = home(fedikit_client, alice)[boost["id"]]
    assert [(r["filter"]["title"], r["keyword_matches"], r["status_matches"]) for r in seen["filtered"]] == [
        ("Spoilers", ["cat"], None),
        ("Original", None, [original["id"]]),
    ]
    assert [r["filter"]["title"] for r in seen["reblog"]["filtered"]] == ["Spoilers", "Original"]


def test_expired_filters_are_ignored(fedikit_client: FlaskClient, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    follow(fedikit_client, alice, bob)
    status = post(fedikit_client, bob, "weather report")
    lasting = make_filter(fedikit_client, alice, title="Lasting", keywords_attributes=[{"keyword": "weather"}])
    expiring = make_filter(
        fedikit_client, alice, title="Expiring", expires_in=3600, keywords_attributes=[{"keyword": "report"}]
    )
    titles = [r["filter"]["title"] for r in home(fedikit_client, alice)[status["id"]]["filtered"]]
    assert titles == ["Lasting", "Expiring"]
    row = db.session.get(CustomFilter, int(expiring["id"]))
    row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()
    titles = [r["filter"]["title"] for r in home(fedikit_client, alice)[status["id"]]["filtered"]]
    assert titles == ["Lasting"]
    # still listed, with its expiry, for the owner to renew
    listed = fedikit_client.get("/api/v2/filters", headers=alice.headers).json
    assert [f["title"] for f in listed] == ["Lasting", "Expiring"]
    renewed = fedikit_client.put(f"/api/v2/filters/{expiring['id']}", data={"expires_in": ""}, headers=alice.headers)
    assert renewed.json["expires_at"] is None
    titles = [r["filter"]["title"] for r in home(fedikit_client, alice)[status["id"]]["filtered"]]
    assert titles == ["Lasting", "Expiring"]
    assert lasting["expires_at"] is None


def test_filters_load_once_per_page(fedikit_client: FlaskClient, fedikit_app: Any, make_api_user: Any) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    follow(fedikit_client, alice, bob)
    for n in range(3):
        make_filter(fedikit_client, alice, title=f"f{n}", keywords_attributes=[{"keyword": f"word{n}"}])
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def queries_for_home() -> int:
        home(fedikit_client, alice)  # warm: token bookkeeping and the like
        statements.clear()
        engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            home(fedikit_client, alice)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return sum("custom_filters" in s or "filter_keywords" in s or "filter_statuses" in s for s in statements)

    post(fedikit_client, bob, "word0 once")
    few = queries_for_home()
    for n in range(10):
        post(fedikit_client, bob, f"word{n % 3} again {n}")
    many = queries_for_home()
    assert few == many == 0  # compiled once, kept while they stay the same
    make_filter(fedikit_client, alice, title="f3", keywords_attributes=[{"keyword": "again"}])
    statements.clear()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        seen = home(fedikit_client, alice)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert sum("custom_filters" in s for s in statements) == 1  # changed: loaded again, once
    assert all("f3" in [r["filter"]["title"] for r in s["filtered"]] for s in seen.values() if "again" in s["content"])


def test_a_filter_stops_matching_when_it_expires_without_any_write(
    fedikit_client: FlaskClient, make_api_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Filters are kept compiled until they change; expiry is a change of time, not of rows."""
    alice, bob = make_api_user("alice"), make_api_user("bob")
    follow(fedikit_client, alice, bob)
    status = post(fedikit_client, bob, "weather report")
    make_filter(fedikit_client, alice, title="Soon over", expires_in=3600, keywords_attributes=[{"keyword": "weather"}])
    assert [r["filter"]["title"] for r in home(fedikit_client, alice)[status["id"]]["filtered"]] == ["Soon over"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    monkeypatch.setattr("fedikit.core.services.filters.utcnow", lambda: later)
    assert home(fedikit_client, alice)[status["id"]]["filtered"] == []
