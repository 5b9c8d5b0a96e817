"""Outgoing ActivityPub documents: shapes Mastodon reads, built from plain objects (no database)."""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest

from fedikit.plugins.activitypub import documents
from fedikit.plugins.activitypub.documents import PUBLIC

BASE = "https://fedi.example"
ALICE = f"{BASE}/users/alice"
BOB = "https://remote.example/users/bob"
CAROL = "https://other.example/@carol"


def make_account(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "username": "alice",
        "domain": None,
        "display_name": "Alice",
        "note": "<p>Hello</p>",
        "fields": [{"name": "Site", "value": '<a href="https://alice.example">alice.example</a>'}],
        "locked": False,
        "bot": False,
        "group": False,
        "discoverable": True,
        "indexable": False,
        "memorial": False,
        "uri": ALICE,
        "url": f"{BASE}/@alice",
        "public_key": "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n",
        "also_known_as": [],
        "created_at": dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def make_status(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "uri": f"{ALICE}/statuses/1",
        "url": f"{BASE}/@alice/1",
        "account": make_account(),
        "local": True,
        "content": (
            '<p>Hi <span class="h-card"><a href="https://remote.example/@bob" class="u-url mention">@bob</a></span></p>'
        ),
        "spoiler_text": "",
        "sensitive": False,
        "visibility": "public",
        "language": "en",
        "created_at": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        "edited_at": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def test_context_is_mastodons() -> None:
    assert documents.CONTEXT[:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert len(documents.CONTEXT) == 3
    terms = documents.CONTEXT[2]
    assert terms["toot"] == "http://joinmastodon.org/ns#"
    assert terms["focalPoint"] == {"@container": "@list", "@id": "toot:focalPoint"}
    assert terms["movedTo"]["@type"] == "@id" and terms["alsoKnownAs"]["@type"] == "@id"
    for term in ("manuallyApprovesFollowers", "sensitive", "Hashtag", "Emoji", "featured", "featuredTags"):
        assert term in terms
    for term in ("discoverable", "indexable", "memorial", "suspended", "blurhash", "votersCount", "PropertyValue"):
        assert term in terms
    assert terms["value"] == "schema:value"


def test_iso() -> None:
    assert documents.iso(dt.datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=dt.UTC)) == "2024-01-02T03:04:05Z"
    assert documents.iso(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05Z"
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert documents.iso(dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=plus_two)) == "2024-01-02T01:04:05Z"


def test_actor_person() -> None:
    doc = documents.actor(
        make_account(also_known_as=["https://old.example/users/alice"]),
        avatar_url=f"{BASE}/media/avatar.png?v=2",
        header_url=f"{BASE}/media/header.jpg",
        shared_inbox=f"{BASE}/inbox",
    )
    assert doc["@context"] == documents.CONTEXT
    assert doc["type"] == "Person"
    assert doc["id"] == ALICE
    assert doc["inbox"] == f"{ALICE}/inbox"
    assert doc["outbox"] == f"{ALICE}/outbox"
    assert doc["followers"] == f"{ALICE}/followers"
    assert doc["following"] == f"{ALICE}/following"
    assert doc["featured"] == f"{ALICE}/collections/featured"
    assert doc["featuredTags"] == f"{ALICE}/collections/tags"
    assert doc["preferredUsername"] == "alice"
    assert doc["name"] == "Alice"
    assert doc["summary"] == "<p>Hello</p>"
    assert doc["url"] == f"{BASE}/@alice"
    assert doc["manuallyApprovesFollowers"] is False
    assert doc["discoverable"] is True and doc["indexable"] is False and doc["memorial"] is False
    assert doc["published"] == "2024-05-06T07:08:09Z"
    assert doc["publicKey"] == {
        "id": f"{ALICE}#main-key",
        "owner": ALICE,
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n",
    }
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}
    assert doc["attachment"] == [
        {"type": "PropertyValue", "name": "Site", "value": '<a href="https://alice.example">alice.example</a>'}
    ]
    assert doc["alsoKnownAs"] == ["https://old.example/users/alice"]
    assert "movedTo" not in doc
    assert doc["icon"] == {"type": "Image", "mediaType": "image/png", "url": f"{BASE}/media/avatar.png?v=2"}
    assert doc["image"] == {"type": "Image", "mediaType": "image/jpeg", "url": f"{BASE}/media/header.jpg"}
    json.dumps(doc)


def test_actor_variants() -> None:
    bare = documents.actor(make_account(locked=True), avatar_url=None, header_url=None, shared_inbox=f"{BASE}/inbox")
    assert "icon" not in bare and "image" not in bare and "alsoKnownAs" not in bare
    assert bare["manuallyApprovesFollowers"] is True
    bot = documents.actor(make_account(bot=True), avatar_url=None, header_url=None, shared_inbox="x")
    assert bot["type"] == "Service"
    group = documents.actor(make_account(group=True), avatar_url=None, header_url=None, shared_inbox="x")
    assert group["type"] == "Group"
    moved = documents.actor(
        make_account(), avatar_url=None, header_url=None, shared_inbox="x", moved_to_uri="https://new.example/u/a"
    )
    assert moved["movedTo"] == "https://new.example/u/a"
    unknown = documents.actor(make_account(), avatar_url=f"{BASE}/media/avatar", header_url=None, shared_inbox="x")
    assert unknown["icon"] == {"type": "Image", "url": f"{BASE}/media/avatar"}


def test_instance_actor() -> None:
    doc = documents.instance_actor(
        uri=f"{BASE}/actor",
        username=BASE.removeprefix("https://"),
        public_key="PEM",
        inbox=f"{BASE}/actor/inbox",
        shared_inbox=f"{BASE}/inbox",
        url=f"{BASE}/about",
    )
    assert doc["@context"] == documents.CONTEXT
    assert doc["type"] == "Application"
    assert doc["manuallyApprovesFollowers"] is True
    assert doc["publicKey"] == {"id": f"{BASE}/actor#main-key", "owner": f"{BASE}/actor", "publicKeyPem": "PEM"}
    assert doc["inbox"] == f"{BASE}/actor/inbox"
    assert doc["endpoints"] == {"sharedInbox": f"{BASE}/inbox"}


@pytest.mark.parametrize(
    ("visibility", "to", "cc"),
    [
        ("public", [PUBLIC], [f"{ALICE}/followers", BOB, CAROL]),
        ("unlisted", [f"{ALICE}/followers"], [PUBLIC, BOB, CAROL]),
        ("private", [f"{ALICE}/followers", BOB, CAROL], []),
        ("direct", [BOB, CAROL], []),
    ],
)
def test_addressing(visibility: str, to: list[str], cc: list[str]) -> None:
    assert documents.addressing(visibility, followers_url=f"{ALICE}/followers", mentioned=[BOB, CAROL]) == (to, cc)


def test_addressing_rejects_unknown_visibility() -> None:
    with pytest.raises(ValueError):
        documents.addressing("limited", followers_url="f", mentioned=[])


def test_note() -> None:
    media = [
        documents.attachment(
            "image/png", f"{BASE}/m/1.png", description="a cat", blurhash=None, width=None, height=None, focus=None
        )
    ]
    doc = documents.note(
        make_status(spoiler_text="cw", sensitive=True, edited_at=dt.datetime(2024, 5, 7, tzinfo=dt.UTC)),
        in_reply_to_uri=f"{BOB}/statuses/9",
        mentions=[(BOB, "@bob@remote.example")],
        tags=["cats"],
        media=media,
        base_url=BASE + "/",
    )
    assert "@context" not in doc
    assert doc["id"] == f"{ALICE}/statuses/1"
    assert doc["type"] == "Note"
    assert doc["summary"] == "cw"
    assert doc["sensitive"] is True
    assert doc["inReplyTo"] == f"{BOB}/statuses/9"
    assert doc["published"] == "2024-05-06T07:08:09Z"
    assert doc["updated"] == "2024-05-07T00:00:00Z"
    assert doc["url"] == f"{BASE}/@alice/1"
    assert doc["attributedTo"] == ALICE
    assert doc["to"] == [PUBLIC]
    assert doc["cc"] == [f"{ALICE}/followers", BOB]
    assert doc["contentMap"] == {"en": doc["content"]}
    assert doc["tag"] == [
        {"type": "Mention", "href": BOB, "name": "@bob@remote.example"},
        {"type": "Hashtag", "href": f"{BASE}/tags/cats", "name": "#cats"},
    ]
    assert doc["attachment"] == media


def test_note_plain() -> None:
    doc = documents.note(
        make_status(language=None, visibility="direct", url=None),
        in_reply_to_uri=None,
        mentions=[(BOB, "@bob@remote.example")],
        tags=[],
        media=[],
        base_url=BASE,
    )
    assert doc["summary"] is None
    assert doc["inReplyTo"] is None
    assert "updated" not in doc and "contentMap" not in doc
    assert doc["url"] == doc["id"]
    assert (doc["to"], doc["cc"]) == ([BOB], [])
    assert doc["attachment"] == [] and doc["tag"] == [{"type": "Mention", "href": BOB, "name": "@bob@remote.example"}]


def test_attachment() -> None:
    full = documents.attachment(
        "image/jpeg",
        f"{BASE}/m/1.jpg",
        description="alt",
        blurhash="LEHV6nWB2yk8",
        width=640,
        height=480,
        focus=(0.5, -0.25),
    )
    assert full == {
        "type": "Document",
        "mediaType": "image/jpeg",
        "url": f"{BASE}/m/1.jpg",
        "name": "alt",
        "blurhash": "LEHV6nWB2yk8",
        "focalPoint": [0.5, -0.25],
        "width": 640,
        "height": 480,
    }
    bare = documents.attachment(
        "video/mp4", f"{BASE}/m/2.mp4", description=None, blurhash=None, width=None, height=None, focus=None
    )
    assert bare == {"type": "Document", "mediaType": "video/mp4", "url": f"{BASE}/m/2.mp4"}


def test_create_wraps_note() -> None:
    note = documents.note(
        make_status(visibility="unlisted"), in_reply_to_uri=None, mentions=[], tags=[], media=[], base_url=BASE
    )
    create = documents.create(note, published="2024-05-06T07:08:10Z")
    assert create["@context"] == documents.CONTEXT
    assert create["type"] == "Create"
    assert create["id"] == f"{note['id']}/activity"
    assert create["actor"] == ALICE
    assert create["to"] == note["to"] == [f"{ALICE}/followers"]
    assert create["cc"] == note["cc"] == [PUBLIC]
    assert create["published"] == "2024-05-06T07:08:10Z"
    assert create["object"] is note
    assert documents.create(note)["published"] == note["published"]


def test_activity_and_friends() -> None:
    follow = documents.activity("Follow", id=f"{BASE}/f/1", actor=ALICE, object=BOB)
    assert follow == {
        "@context": documents.CONTEXT,
        "id": f"{BASE}/f/1",
        "type": "Follow",
        "actor": ALICE,
        "object": BOB,
    }
    delete = documents.activity(
        "Delete",
        id=f"{ALICE}/statuses/1#delete",
        actor=ALICE,
        object=documents.tombstone(f"{ALICE}/statuses/1"),
        to=[PUBLIC],
        cc=[],
        published="2024-01-01T00:00:00Z",
    )
    assert delete["object"] == {"id": f"{ALICE}/statuses/1", "type": "Tombstone"}
    assert delete["to"] == [PUBLIC] and delete["cc"] == [] and delete["published"] == "2024-01-01T00:00:00Z"
    collection = documents.ordered_collection(f"{ALICE}/followers", 3, first=f"{ALICE}/followers?page=1")
    assert collection == {
        "@context": documents.CONTEXT,
        "id": f"{ALICE}/followers",
        "type": "OrderedCollection",
        "totalItems": 3,
        "first": f"{ALICE}/followers?page=1",
    }
    assert "first" not in documents.ordered_collection(f"{ALICE}/following", 0)
