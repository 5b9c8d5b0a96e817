"""Reading remote ActivityPub JSON: Mastodon's rules, and hostile input dropped, clamped or refused."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from fedikit.core.sanitize import sanitize_html
from fedikit.plugins.activitypub import documents, parse
from fedikit.plugins.activitypub.parse import InvalidDocument

BOB = "https://remote.example/users/bob"
FOLLOWERS = f"{BOB}/followers"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def actor_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": documents.CONTEXT,
        "id": BOB,
        "type": "Person",
        "preferredUsername": "bob",
        "name": "Bob",
        "summary": "<p>Hi</p>",
        "url": "https://remote.example/@bob",
        "inbox": f"{BOB}/inbox",
        "outbox": f"{BOB}/outbox",
        "followers": FOLLOWERS,
        "featured": f"{BOB}/collections/featured",
        "endpoints": {"sharedInbox": "https://remote.example/inbox"},
        "publicKey": {"id": f"{BOB}#main-key", "owner": BOB, "publicKeyPem": "PEM"},
        "manuallyApprovesFollowers": True,
        "discoverable": True,
        "indexable": True,
        "icon": {"type": "Image", "mediaType": "image/png", "url": "https://remote.example/a.png"},
        "image": {"type": "Image", "url": {"type": "Link", "href": "https://remote.example/h.jpg"}},
        "attachment": [{"type": "PropertyValue", "name": "Site", "value": '<a href="https://bob.example">bob</a>'}],
        "alsoKnownAs": ["https://old.example/users/bob"],
    }
    doc.update(overrides)
    return doc


def note_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"{BOB}/statuses/1",
        "type": "Note",
        "attributedTo": BOB,
        "content": "<p>Hello</p>",
        "published": "2024-05-06T07:08:09Z",
        "to": [PUBLIC],
        "cc": [FOLLOWERS],
    }
    doc.update(overrides)
    return doc


# --- helpers ---------------------------------------------------------------------------------------------------


def test_as_list_object_id_is_public() -> None:
    assert parse.as_list(None) == []
    assert parse.as_list("a") == ["a"]
    assert parse.as_list({"id": "a"}) == [{"id": "a"}]
    assert parse.as_list(["a", "b"]) == ["a", "b"]
    assert parse.object_id("https://x.example/1") == "https://x.example/1"
    assert parse.object_id({"id": "https://x.example/1", "type": "Note"}) == "https://x.example/1"
    assert parse.object_id({"id": 5}) is None
    assert parse.object_id(5) is None
    assert parse.object_id(None) is None
    for spelling in (PUBLIC, "as:Public", "Public"):
        assert parse.is_public(spelling)
    assert not parse.is_public("https://www.w3.org/ns/activitystreams#public")
    assert not parse.is_public(None)


# --- profile ---------------------------------------------------------------------------------------------------


def test_profile() -> None:
    values = parse.profile(actor_doc())
    assert values == {
        "username": "bob",
        "uri": BOB,
        "display_name": "Bob",
        "note": "<p>Hi</p>",
        "fields": [
            {"name": "Site", "value": '<a href="https://bob.example" rel="nofollow noopener noreferrer">bob</a>'}
        ],
        "locked": True,
        "bot": False,
        "group": False,
        "discoverable": True,
        "indexable": True,
        "memorial": False,
        "url": "https://remote.example/@bob",
        "inbox_url": f"{BOB}/inbox",
        "shared_inbox_url": "https://remote.example/inbox",
        "outbox_url": f"{BOB}/outbox",
        "followers_url": FOLLOWERS,
        "featured_url": f"{BOB}/collections/featured",
        "public_key": "PEM",
        "avatar_remote_url": "https://remote.example/a.png",
        "header_remote_url": "https://remote.example/h.jpg",
        "also_known_as": ["https://old.example/users/bob"],
    }


def test_profile_of_our_own_actor_document() -> None:
    account = SimpleNamespace(
        username="alice",
        display_name="Alice",
        note="<p>Hello</p>",
        fields=[],
        locked=False,
        bot=True,
        group=False,
        discoverable=True,
        indexable=False,
        memorial=False,
        uri="https://fedi.example/users/alice",
        url=None,
        public_key="PEM",
        also_known_as=[],
        created_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    doc = documents.actor(account, avatar_url=None, header_url=None, shared_inbox="https://fedi.example/inbox")
    values = parse.profile(doc)
    assert values["username"] == "alice" and values["uri"] == account.uri
    assert values["bot"] is True and values["locked"] is False
    assert values["inbox_url"] == f"{account.uri}/inbox" and values["public_key"] == "PEM"
    assert values["followers_url"] == f"{account.uri}/followers"
    assert values["url"] == account.uri


@pytest.mark.parametrize(
    ("type_", "bot", "group"),
    [
        ("Person", False, False),
        ("Service", True, False),
        ("Application", True, False),
        ("Group", False, True),
        ("Organization", False, False),
    ],
)
def test_profile_types(type_: str, bot: bool, group: bool) -> None:
    values = parse.profile(actor_doc(type=type_))
    assert (values["bot"], values["group"]) == (bot, group)


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": "Note"},
        {"type": ["Person"]},
        {"type": None},
        {"id": None},
        {"id": "javascript:alert(1)"},
        {"id": "ftp://remote.example/bob"},
        {"preferredUsername": None},
        {"preferredUsername": ""},
        {"preferredUsername": "bob@evil.example"},
        {"preferredUsername": "bo b"},
        {"preferredUsername": "b" * 256},
        {"preferredUsername": ["bob"]},
        {"inbox": None},
        {"inbox": "javascript:alert(1)"},
    ],
)
def test_profile_invalid(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidDocument):
        parse.profile(actor_doc(**overrides))


def test_profile_rejects_non_dict() -> None:
    with pytest.raises(InvalidDocument):
        parse.profile(["not", "a", "dict"])  # type: ignore[arg-type]


def test_profile_hostile() -> None:
    values = parse.profile(
        actor_doc(
            name="N" * 1000,
            summary='<p>ok</p><script>alert(1)</script><a href="javascript:alert(1)">x</a>' + "y" * 30_000,
            attachment=[{"type": "PropertyValue", "name": "<b>Na</b>me" + "n" * 300, "value": "<script>x</script>v"}]
            * 40
            + [{"type": "Note", "name": "no"}, "junk"],
            url="javascript:alert(1)",
            outbox={"id": "https://remote.example/outbox", "type": "OrderedCollection"},
            followers=5,
            endpoints="https://remote.example/inbox",
            icon=[{"type": "Image", "url": "data:image/png;base64,AAAA"}, {"url": "https://remote.example/a2.png"}],
            image={"type": "Image", "url": ["javascript:x", {"href": "https://remote.example/h2.jpg"}]},
            alsoKnownAs=[f"https://old{i}.example/bob" for i in range(50)] + ["javascript:x", 7],
            manuallyApprovesFollowers="true",
            discoverable="yes",
        )
    )
    assert len(values["display_name"]) == 255
    assert "<script" not in values["note"] and "alert" not in values["note"] and "javascript" not in values["note"]
    assert values["note"].startswith("<p>ok</p>")
    assert len(values["note"]) <= 20_000
    assert len(values["fields"]) == 16
    assert values["fields"][0]["name"] == "Na" + "me" + "n" * 251
    assert values["fields"][0]["value"] == "v"
    assert values["url"] is None
    assert values["outbox_url"] == "https://remote.example/outbox"
    assert values["followers_url"] is None
    assert values["shared_inbox_url"] is None
    assert values["avatar_remote_url"] == "https://remote.example/a2.png"
    assert values["header_remote_url"] == "https://remote.example/h2.jpg"
    assert values["also_known_as"] == [f"https://old{i}.example/bob" for i in range(20)]
    assert values["locked"] is False and values["discoverable"] is False


def test_profile_defaults() -> None:
    doc = {"id": BOB, "type": "Person", "preferredUsername": "bob", "inbox": f"{BOB}/inbox"}
    values = parse.profile(doc)
    assert values["display_name"] == "" and values["note"] == "" and values["fields"] == []
    assert values["discoverable"] is False and values["indexable"] is False and values["memorial"] is False
    assert values["public_key"] == ""
    assert values["url"] is None and values["shared_inbox_url"] is None
    assert values["avatar_remote_url"] is None and values["header_remote_url"] is None
    assert values["also_known_as"] == []


def test_profile_url_link_list() -> None:
    links = [{"type": "Link", "href": "https://remote.example/@bob", "mediaType": "text/html"}, {"href": "x"}]
    assert parse.profile(actor_doc(url=links))["url"] == "https://remote.example/@bob"


def test_profile_public_key_must_belong_to_actor() -> None:
    keys = [
        {"id": "https://evil.example/k", "owner": "https://evil.example/u", "publicKeyPem": "EVIL"},
        {"id": f"{BOB}#main-key", "owner": BOB, "publicKeyPem": "GOOD"},
    ]
    assert parse.profile(actor_doc(publicKey=keys))["public_key"] == "GOOD"
    assert parse.profile(actor_doc(publicKey=keys[:1]))["public_key"] == ""
    assert parse.profile(actor_doc(publicKey=f"{BOB}#main-key"))["public_key"] == ""
    assert parse.profile(actor_doc(publicKey={"owner": BOB, "publicKeyPem": 5}))["public_key"] == ""


# --- visibility ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to", "cc", "expected"),
    [
        ([PUBLIC], [FOLLOWERS], "public"),
        ("as:Public", [], "public"),
        (["Public"], [], "public"),
        ([FOLLOWERS], [PUBLIC], "unlisted"),
        ([FOLLOWERS], "as:Public", "unlisted"),
        ([FOLLOWERS, "https://x.example/u/c"], [], "private"),
        ([], FOLLOWERS, "private"),
        (["https://x.example/u/c"], [], "direct"),
        ([], [], "direct"),
    ],
)
def test_visibility(to: Any, cc: Any, expected: str) -> None:
    assert parse.visibility({"to": to, "cc": cc}, None, followers_url=FOLLOWERS) == expected


def test_visibility_falls_back_to_activity() -> None:
    activity = {"type": "Create", "to": [PUBLIC], "cc": [FOLLOWERS]}
    assert parse.visibility({}, activity, followers_url=FOLLOWERS) == "public"
    assert parse.visibility({"to": [FOLLOWERS]}, activity, followers_url=FOLLOWERS) == "private"
    assert parse.visibility({"to": [FOLLOWERS]}, activity, followers_url=None) == "direct"


def test_visibility_ignores_junk_addresses() -> None:
    assert parse.visibility({"to": [5, None, {"id": PUBLIC}]}, None, followers_url=None) == "public"
    assert parse.visibility({"to": {"nope": 1}, "cc": 7}, None, followers_url=None) == "direct"


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private", "direct"])
def test_visibility_round_trip(visibility: str) -> None:
    to, cc = documents.addressing(visibility, followers_url=FOLLOWERS, mentioned=["https://x.example/u/c"])
    assert parse.visibility({"to": to, "cc": cc}, None, followers_url=FOLLOWERS) == visibility


# --- note ------------------------------------------------------------------------------------------------------


def test_note() -> None:
    parsed = parse.note(
        note_doc(
            summary="<p>CW &amp; more</p>",
            contentMap={"de": "<p>Hallo</p>"},
            inReplyTo={"id": "https://x.example/s/1", "type": "Note"},
            updated="2024-05-07T00:00:00+02:00",
            url="https://remote.example/@bob/1",
            tag=[
                {"type": "Mention", "href": "https://x.example/u/c", "name": "@c@x.example"},
                {"type": "Hashtag", "href": "https://remote.example/tags/Cats", "name": "#Cats"},
                {"type": "Emoji", "name": ":blob:"},
            ],
            attachment=[
                {
                    "type": "Document",
                    "mediaType": "image/png",
                    "url": "https://remote.example/m/1.png",
                    "name": "a cat",
                    "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                    "focalPoint": [0.5, -3],
                    "width": 640,
                    "height": 480,
                }
            ],
        )
    )
    assert parsed.uri == f"{BOB}/statuses/1"
    assert parsed.type == "Note"
    assert parsed.attributed_to == BOB
    assert parsed.url == "https://remote.example/@bob/1"
    assert parsed.content == "<p>Hello</p>"
    assert parsed.spoiler_text == "CW & more"
    assert parsed.sensitive is True
    assert parsed.language == "de"
    assert parsed.published == dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    assert parsed.updated == dt.datetime(2024, 5, 6, 22, 0, tzinfo=dt.UTC)
    assert parsed.in_reply_to == "https://x.example/s/1"
    assert parsed.mentions == ["https://x.example/u/c"]
    assert parsed.hashtags == ["cats"]
    assert parsed.attachments == [
        {
            "url": "https://remote.example/m/1.png",
            "media_type": "image/png",
            "description": "a cat",
            "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            "focus": (0.5, -1.0),
            "width": 640,
            "height": 480,
        }
    ]
    assert parsed.to == [PUBLIC] and parsed.cc == [FOLLOWERS]


def test_note_defaults() -> None:
    before = dt.datetime.now(dt.UTC)
    parsed = parse.note({"id": f"{BOB}/s/2", "type": "Note", "attributedTo": {"id": BOB, "type": "Person"}})
    assert parsed.url == parsed.uri
    assert parsed.content == "" and parsed.spoiler_text == "" and parsed.sensitive is False
    assert parsed.language is None and parsed.in_reply_to is None and parsed.updated is None
    assert parsed.mentions == [] and parsed.hashtags == [] and parsed.attachments == []
    assert parsed.to == [] and parsed.cc == []
    assert before <= parsed.published <= dt.datetime.now(dt.UTC)


def test_note_content_map_only() -> None:
    parsed = parse.note(note_doc(content=None, contentMap={"fr": "<p>Salut</p>"}))
    assert parsed.content == "<p>Salut</p>" and parsed.language == "fr"


@pytest.mark.parametrize("published", ["not a date", 12345, "2999-01-01T00:00:00Z", None])
def test_note_published_fallback(published: Any) -> None:
    before = dt.datetime.now(dt.UTC)
    parsed = parse.note(note_doc(published=published))
    assert before <= parsed.published <= dt.datetime.now(dt.UTC)


def test_note_published_naive_and_slightly_ahead() -> None:
    assert parse.note(note_doc(published="2024-05-06T07:08:09")).published == dt.datetime(
        2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC
    )
    soon = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    assert parse.note(note_doc(published=soon.isoformat())).published == soon


@pytest.mark.parametrize(
    "overrides",
    [
        {"type": "Person"},
        {"type": "Tombstone"},
        {"type": None},
        {"id": None},
        {"id": "javascript:alert(1)"},
        {"attributedTo": None},
        {"attributedTo": 5},
        {"attributedTo": "javascript:alert(1)"},
    ],
)
def test_note_invalid(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidDocument):
        parse.note(note_doc(**overrides))


def test_note_rejects_non_dict() -> None:
    with pytest.raises(InvalidDocument):
        parse.note("https://remote.example/s/1")  # type: ignore[arg-type]


def test_note_hostile_content() -> None:
    parsed = parse.note(
        note_doc(
            content='<p>hi<script>alert(1)</script> <a href="javascript:alert(1)">x</a>'
            '<img src="https://evil.example/t.gif" onerror="alert(1)"></p>',
            summary="<script>alert(1)</script>" + "s" * 5000,
            sensitive="false",
        )
    )
    assert "script" not in parsed.content and "javascript" not in parsed.content and "<img" not in parsed.content
    assert "onerror" not in parsed.content
    assert "hi" in parsed.content
    assert len(parsed.spoiler_text) == 1000 and "<" not in parsed.spoiler_text
    assert parsed.sensitive is True  # from the spoiler text, not from the string "false"
    assert parse.note(note_doc(sensitive="true")).sensitive is False


def test_note_content_cap() -> None:
    parsed = parse.note(note_doc(content="<p>" + "a" * 200_000 + "</p>"))
    assert parsed.content == "<p>" + "a" * (100_000 - 3) + "</p>"


def test_note_single_dict_tag_and_string_to() -> None:
    parsed = parse.note(
        note_doc(
            to=PUBLIC,
            cc=FOLLOWERS,
            tag={"type": "Hashtag", "name": "#FediKit"},
            attachment={"type": "Image", "url": "https://remote.example/m/2.jpg"},
        )
    )
    assert parsed.to == [PUBLIC] and parsed.cc == [FOLLOWERS]
    assert parsed.hashtags == ["fedikit"]
    assert [a["url"] for a in parsed.attachments] == ["https://remote.example/m/2.jpg"]
    assert parse.visibility(note_doc(to=PUBLIC, cc=[]), None, followers_url=FOLLOWERS) == "public"


def test_note_oversize_lists_clamped() -> None:
    tags: list[Any] = [{"type": "Mention", "href": f"https://x.example/u/{i}"} for i in range(100)]
    tags += [{"type": "Hashtag", "name": f"#tag{i}"} for i in range(100)]
    tags += [{"type": "Mention", "href": "javascript:alert(1)"}, {"type": "Hashtag", "name": "#bad-tag"}, "junk", 3]
    parsed = parse.note(
        note_doc(
            tag=tags,
            attachment=[{"type": "Document", "url": "javascript:alert(1)"}]
            + [{"type": "Document", "url": f"https://remote.example/m/{i}.png"} for i in range(10)],
            to=[f"https://x.example/u/{i}" for i in range(2000)],
            cc=[PUBLIC, 5, None, {"id": FOLLOWERS}],
        )
    )
    assert parsed.mentions == [f"https://x.example/u/{i}" for i in range(50)]
    assert parsed.hashtags == [f"tag{i}" for i in range(30)]
    assert [a["url"] for a in parsed.attachments] == [f"https://remote.example/m/{i}.png" for i in range(4)]
    assert len(parsed.to) == 1000
    assert parsed.cc == [PUBLIC, FOLLOWERS]


def test_note_hashtag_rules() -> None:
    tags = [
        {"type": "Hashtag", "name": "#Ünïcode"},
        {"type": "Hashtag", "name": "#cats"},
        {"type": "Hashtag", "name": "#CATS"},
        {"type": "Hashtag", "name": "#no space"},
        {"type": "Hashtag", "name": "#"},
        {"type": "Hashtag", "name": 5},
        {"type": "Hashtag", "name": "#<script>"},
    ]
    assert parse.note(note_doc(tag=tags)).hashtags == ["ünïcode", "cats"]


def test_note_attachment_fields_hostile() -> None:
    parsed = parse.note(
        note_doc(
            attachment=[
                {
                    "url": [{"type": "Link", "href": "https://remote.example/m/v.mp4", "mediaType": "video/mp4"}],
                    "mediaType": ["video/mp4"],
                    "name": "d" * 5000,
                    "blurhash": "<script>",
                    "focalPoint": [True, 0],
                    "width": "640",
                    "height": -1,
                },
                {"url": "https://remote.example/m/x.png", "focalPoint": [float("nan"), 0.0], "name": 7},
            ]
        )
    )
    first, second = parsed.attachments
    assert first == {
        "url": "https://remote.example/m/v.mp4",
        "media_type": None,
        "description": "d" * 1500,
        "blurhash": None,
        "focus": None,
        "width": None,
        "height": None,
    }
    assert second["focus"] is None and second["description"] is None


@pytest.mark.parametrize("type_", ["Article", "Page", "Image", "Video", "Audio", "Event"])
def test_note_converted_types(type_: str) -> None:
    parsed = parse.note(
        note_doc(type=type_, content=None, name="A <b>title</b>", url="https://remote.example/a/1?x=1&y=2")
    )
    assert parsed.type == type_
    assert parsed.content == (
        "<p>A title</p>"
        '<p><a href="https://remote.example/a/1?x=1&amp;y=2" rel="nofollow noopener noreferrer">'
        "https://remote.example/a/1?x=1&amp;y=2</a></p>"
    )
    with_content = parse.note(note_doc(type=type_, content="<p>Body</p>", name="Title"))
    assert with_content.content == "<p>Body</p>"


def test_note_question_accepted() -> None:
    assert parse.note(note_doc(type="Question", oneOf=[{"type": "Note", "name": "a"}])).type == "Question"


def test_parsed_note_is_frozen() -> None:
    parsed = parse.note(note_doc())
    with pytest.raises(AttributeError):
        parsed.uri = "x"  # type: ignore[misc]


# --- round trip ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private", "direct"])
def test_round_trip(visibility: str) -> None:
    alice = SimpleNamespace(uri="https://fedi.example/users/alice")
    content = '<p>Hi <a href="https://remote.example/@bob" class="u-url mention">@bob</a> #cats</p>'
    status = SimpleNamespace(
        uri=f"{alice.uri}/statuses/1",
        url=None,
        account=alice,
        content=content,
        spoiler_text="",
        sensitive=False,
        visibility=visibility,
        language="en",
        created_at=dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        edited_at=None,
    )
    sent = documents.create(
        documents.note(
            status,
            in_reply_to_uri=None,
            mentions=[(BOB, "@bob@remote.example")],
            tags=["cats"],
            media=[
                documents.attachment(
                    "image/png",
                    "https://fedi.example/m/1.png",
                    description="alt",
                    blurhash=None,
                    width=10,
                    height=20,
                    focus=(0.1, 0.2),
                )
            ],
            base_url="https://fedi.example",
        ),
        published="2024-05-06T07:08:09Z",
    )
    parsed = parse.note(sent["object"])
    assert parsed.uri == status.uri
    assert parsed.attributed_to == alice.uri
    assert parse.visibility(sent["object"], sent, followers_url=f"{alice.uri}/followers") == visibility
    assert parsed.mentions == [BOB]
    assert parsed.hashtags == ["cats"]
    assert parsed.content == sanitize_html(content)
    assert "@bob" in parsed.content and "#cats" in parsed.content
    assert parsed.language == "en"
    assert parsed.published == status.created_at
    assert parsed.attachments[0]["focus"] == (0.1, 0.2)
    assert parsed.attachments[0]["description"] == "alt"


def test_emoji_tags_are_read_bounded_and_checked() -> None:
    good = {
        "type": "Emoji",
        "name": ":blob_cat:",
        "id": "https://x.example/emojis/1",
        "icon": {"url": "https://x.example/b.png"},
    }
    tags = [
        good,
        {**good, "name": ":blob_cat:"},  # repeated: once
        {"type": "Emoji", "name": ":a:", "icon": {"url": "https://x.example/a.png"}},  # too short a code
        {"type": "Emoji", "name": ":bad code:", "icon": {"url": "https://x.example/c.png"}},
        {"type": "Emoji", "name": ":noimage:"},
        {"type": "Emoji", "name": ":js:", "icon": {"url": "javascript:alert(1)"}},
        *({"type": "Emoji", "name": f":e{n}:", "icon": {"url": f"https://x.example/{n}.png"}} for n in range(100)),
    ]
    found = parse.emojis({"tag": tags})
    assert found[0] == {"shortcode": "blob_cat", "url": "https://x.example/b.png", "uri": "https://x.example/emojis/1"}
    assert len(found) == parse.MAX_EMOJIS
    assert not {"a", "bad code", "noimage", "js"} & {e["shortcode"] for e in found}
    assert parse.emojis({"tag": good}) == [found[0]]  # a single tag object, not a list
