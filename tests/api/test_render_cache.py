"""Kept renders (fedikit.core.renders) never show a status or account as it was before a change.

Renders are kept per process, keyed by the row's ``updated_at``. The proof
that no invalidation is needed: a second app on the same database (another
web process) that rendered everything first still shows every change made
through the first one.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from fedikit.plugin_api.testing import close_app, make_app, settle

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser


@pytest.fixture
def other_process(fedikit_app: Flask, fedikit_config: dict[str, Any]) -> Iterator[FlaskClient]:
    """A second app on the same database and data folder: what another web process sees."""
    app = make_app(fedikit_config, data_dir=fedikit_app.config["FEDIKIT_DATA_DIR"], migrate=False)
    client = app.test_client()
    yield client
    close_app(app)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_changes_made_through_one_process_show_in_another(
    fedikit_app: Flask,
    fedikit_client: FlaskClient,
    other_process: FlaskClient,
    make_api_user: MakeApiUser,
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    posted = fedikit_client.post("/api/v1/statuses", data={"status": "first words"}, headers=alice.headers).json
    url = f"/api/v1/statuses/{posted['id']}"

    def seen() -> dict[str, Any]:
        response = other_process.get(url, headers=bob.headers)
        assert response.status_code == 200, response.text
        return response.json

    before = seen()
    assert before["favourites_count"] == 0 and before["account"]["display_name"] == ""
    assert seen() == before  # the kept render

    assert fedikit_client.post(f"{url}/favourite", headers=bob.headers).status_code == 200
    assert fedikit_client.post(f"{url}/reblog", headers=bob.headers).status_code == 200
    settle(fedikit_app)
    counted = seen()
    assert (counted["favourites_count"], counted["reblogs_count"]) == (1, 1)
    assert counted["favourited"] is True and counted["reblogged"] is True  # the viewer's own, never kept

    fedikit_client.put("/api/v1/statuses/" + posted["id"], data={"status": "second words"}, headers=alice.headers)
    edited = seen()
    assert "second words" in edited["content"] and edited["edited_at"] is not None

    renamed = fedikit_client.patch(
        "/api/v1/accounts/update_credentials", data={"display_name": "Alice A."}, headers=alice.headers
    )
    assert renamed.status_code == 200
    assert seen()["account"]["display_name"] == "Alice A."
    assert other_process.get(f"/api/v1/accounts/{posted['account']['id']}").json["display_name"] == "Alice A."


def test_own_and_others_views_of_one_kept_render(
    fedikit_client: FlaskClient, api_user: ApiUser, make_api_user: MakeApiUser
) -> None:
    """One render serves every reader; the viewer's parts differ (source text and pins are the author's)."""
    bob = make_api_user("bob")
    posted = fedikit_client.post("/api/v1/statuses", data={"status": "mine"}, headers=api_user.headers).json
    url = f"/api/v1/statuses/{posted['id']}"
    assert fedikit_client.post(f"{url}/pin", headers=api_user.headers).status_code == 200
    own = fedikit_client.get(url, headers=api_user.headers).json
    theirs = fedikit_client.get(url, headers=bob.headers).json
    anonymous = fedikit_client.get(url).json
    assert own["text"] == "mine" and own["pinned"] is True
    assert "text" not in theirs and "pinned" not in theirs and theirs["favourited"] is False
    assert "favourited" not in anonymous
    shared = {
        k: v for k, v in own.items() if k not in ("text", "pinned", "favourited", "reblogged", "muted", "bookmarked")
    }
    assert {k: v for k, v in theirs.items() if k in shared} == shared


def test_media_described_while_attached_shows_at_once(
    fedikit_client: FlaskClient, other_process: FlaskClient, api_user: ApiUser, make_api_user: MakeApiUser
) -> None:
    """A change to a status's media moves the status's stamp, so its kept render is not used again."""
    from fedikit.core.db import db
    from fedikit.core.models import MediaAttachment

    bob = make_api_user("bob")
    media = fedikit_client.post(
        "/api/v2/media", data={"file": (io.BytesIO(_png()), "red.png")}, headers=api_user.headers
    ).json
    posted = fedikit_client.post(
        "/api/v1/statuses", data={"status": "look", "media_ids[]": media["id"]}, headers=api_user.headers
    ).json
    url = f"/api/v1/statuses/{posted['id']}"
    assert other_process.get(url, headers=bob.headers).json["media_attachments"][0]["description"] is None

    # As a job fetching a remote attachment does: the media row changes, the status row is not touched directly.
    attachment = db.session.get(MediaAttachment, int(media["id"]))
    attachment.description = "a red square"
    db.session.commit()
    assert other_process.get(url, headers=bob.headers).json["media_attachments"][0]["description"] == "a red square"


def test_filters_changed_through_one_process_apply_in_another_at_once(
    fedikit_client: FlaskClient, other_process: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    assert fedikit_client.post(f"/api/v1/accounts/{bob.account.id}/follow", headers=alice.headers).status_code == 200
    posted = fedikit_client.post("/api/v1/statuses", data={"status": "weather and cats"}, headers=bob.headers).json

    def filtered() -> list[tuple[str, list[str] | None]]:
        page = other_process.get("/api/v1/timelines/home", headers=alice.headers).json
        [seen] = [s for s in page if s["id"] == posted["id"]]
        return [(r["filter"]["title"], r["keyword_matches"]) for r in seen["filtered"]]

    assert filtered() == []
    made = fedikit_client.post(
        "/api/v2/filters",
        json={"title": "Sky", "context": ["home"], "keywords_attributes": [{"keyword": "weather"}]},
        headers=alice.headers,
    ).json
    assert filtered() == [("Sky", ["weather"])]
    assert filtered() == [("Sky", ["weather"])]  # kept
    [keyword] = made["keywords"]
    changed = fedikit_client.put(
        f"/api/v2/filters/keywords/{keyword['id']}", data={"keyword": "cats"}, headers=alice.headers
    )
    assert changed.status_code == 200, changed.text
    assert filtered() == [("Sky", ["cats"])]
    fedikit_client.put(f"/api/v2/filters/{made['id']}", data={"title": "Pets"}, headers=alice.headers)
    assert filtered() == [("Pets", ["cats"])]
    assert fedikit_client.delete(f"/api/v2/filters/{made['id']}", headers=alice.headers).status_code == 200
    assert filtered() == []


def test_the_posting_app_is_shown_fresh_and_kept(
    fedikit_client: FlaskClient, other_process: FlaskClient, make_api_user: MakeApiUser
) -> None:
    alice, bob = make_api_user("alice"), make_api_user("bob")
    posted = fedikit_client.post("/api/v1/statuses", data={"status": "from my app"}, headers=alice.headers).json
    expected = {"name": alice.application["name"], "website": alice.application.get("website")}
    assert posted["application"] == expected
    for _ in range(2):  # made, then kept
        seen = other_process.get(f"/api/v1/statuses/{posted['id']}", headers=bob.headers).json
        assert seen["application"] == expected


def test_renders_can_be_turned_off(fedikit_config: dict[str, Any], tmp_path: Any) -> None:
    app = make_app({**fedikit_config, "RENDER_CACHE_SIZE": "0"}, data_dir=str(tmp_path / "off"))
    try:
        renders = app.extensions["fedikit"].renders
        renders.put(("statuses", 1, None), {"id": "1"})
        assert len(renders) == 0 and renders.get(("statuses", 1, None)) is None
    finally:
        close_app(app)


def test_a_page_costs_the_same_queries_whatever_its_size(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    """No query per status, kept or not: media, boosts, mentions, tags, keyword filters included."""
    from sqlalchemy import event

    from fedikit.core.db import db

    alice, bob, carol = make_api_user("alice"), make_api_user("bob"), make_api_user("carol")
    for target in (bob, carol):
        assert (
            fedikit_client.post(f"/api/v1/accounts/{target.account.id}/follow", headers=alice.headers).status_code
            == 200
        )
    fedikit_client.post(
        "/api/v2/filters",
        json={"title": "w", "context": ["home"], "keywords_attributes": [{"keyword": "weather"}]},
        headers=alice.headers,
    )

    def post_some(n: int) -> None:
        for i in range(n):
            media = fedikit_client.post(
                "/api/v2/media", data={"file": (io.BytesIO(_png()), "p.png")}, headers=bob.headers
            ).json
            status = fedikit_client.post(
                "/api/v1/statuses",
                data={"status": f"weather {i} #tag{i} @carol", "media_ids[]": media["id"]},
                headers=bob.headers,
            ).json
            fedikit_client.post(f"/api/v1/statuses/{status['id']}/reblog", headers=carol.headers)
        settle(fedikit_app)

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def queries(fresh: bool) -> int:
        if fresh:
            fedikit_app.extensions["fedikit"].renders = type(fedikit_app.extensions["fedikit"].renders)()
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            page = fedikit_client.get("/api/v1/timelines/home?limit=40", headers=alice.headers)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return len(statements)

    post_some(1)
    queries(fresh=False)  # the token's bookkeeping and the like
    small = (queries(fresh=True), queries(fresh=False))
    post_some(4)
    large = (queries(fresh=True), queries(fresh=False))
    assert small == large
    assert large[1] < large[0]  # kept renders save the queries that make them


@pytest.mark.usefixtures("delayed_jobs")  # the poll's end, queued for an hour later, is kept aside
def test_a_new_post_is_answered_from_what_was_just_written(
    fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser
) -> None:
    """Posting reads nothing back: the author's new count comes with its update, and no one can have acted
    on the post yet (a reply's thread may be muted, so a reply asks)."""
    from sqlalchemy import event

    from fedikit.core.db import db

    alice = make_api_user("alice")
    first = fedikit_client.post("/api/v1/statuses", data={"status": "first"}, headers=alice.headers).json
    settle(fedikit_app)
    statements: list[str] = []
    request_thread = threading.get_ident()  # the test client runs the app here; job threads may run meanwhile

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == request_thread:
            statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        posted = fedikit_client.post("/api/v1/statuses", data={"status": "second"}, headers=alice.headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert posted.status_code == 200
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and "oauth_access_tokens" in reads[0], reads  # the token, nothing else
    body = posted.json
    assert body["account"]["statuses_count"] == 2 and body["poll"] is None
    assert not (body["favourited"] or body["reblogged"] or body["bookmarked"] or body["muted"] or body["pinned"])

    # a poll's post shows its poll; a reply into a muted thread says so
    with_poll = fedikit_client.post(
        "/api/v1/statuses",
        json={"status": "pick", "poll": {"options": ["a", "b"], "expires_in": 3600}},
        headers=alice.headers,
    ).json
    assert [o["title"] for o in with_poll["poll"]["options"]] == ["a", "b"]
    assert fedikit_client.post(f"/api/v1/statuses/{first['id']}/mute", headers=alice.headers).status_code == 200
    reply = fedikit_client.post(
        "/api/v1/statuses", data={"status": "again", "in_reply_to_id": first["id"]}, headers=alice.headers
    ).json
    assert reply["muted"] is True and reply["account"]["statuses_count"] == 4
