"""What is read about a remote account besides its actor: its avatar and header (copied here) and its pinned
posts (the ``featured`` collection), from a fake remote server over real HTTP on loopback."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from typing import Any

import pytest
from fake_remote import FakeRemote, Remote
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from fedikit.core.services import domain_blocks
from fedikit.plugin_api.testing import settle
from fedikit.plugins.activitypub import remote as remote_actors

BASE_URL = "http://fedikit.test"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
MISSING_AVATAR = f"{BASE_URL}/avatars/original/missing.png"


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8", "LOCAL_HTTPS": "false"}


def _png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def _person(server: FakeRemote, name: str, **fields: Any) -> Remote:
    person = server.person(name)
    server.documents[f"/users/{name}"].update(fields)
    return person


def _discover(app: Flask, person: Remote, *, refresh: bool = False) -> str:
    """The account's id here once ``person``'s actor is read (and the jobs it queues are done)."""
    with app.app_context():
        account_id = str(remote_actors.actor(person.uri, refresh=refresh).id)
    settle(app)
    return account_id


def _shown(client: FlaskClient, url: str) -> bytes:
    """A stored file's bytes, as a reader's app gets them: from this server, or from its object storage."""
    if url.startswith(BASE_URL):
        response = client.get(url.removeprefix(BASE_URL), base_url=BASE_URL)
        assert response.status_code == 200, url
        return response.data
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def _gone(client: FlaskClient, url: str) -> bool:
    if url.startswith(BASE_URL):
        return client.get(url.removeprefix(BASE_URL), base_url=BASE_URL).status_code == 404
    try:
        urllib.request.urlopen(url, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc.code in (403, 404)
    return False


def test_a_remote_avatar_and_header_are_copied_and_served_from_here(
    fedikit_app: Flask, fedikit_client: FlaskClient, remote: FakeRemote
) -> None:
    remote.files["/media/dana-avatar.png"] = ("image/png", _png((600, 300), (10, 120, 200)))
    remote.files["/media/dana-header.png"] = ("image/png", _png((1500, 500), (200, 120, 10)))
    dana = _person(
        remote,
        "dana",
        icon={"type": "Image", "mediaType": "image/png", "url": f"{remote.origin}/media/dana-avatar.png"},
        image={"type": "Image", "mediaType": "image/png", "url": f"{remote.origin}/media/dana-header.png"},
    )
    account_id = _discover(fedikit_app, dana)
    shown = fedikit_client.get(f"/api/v1/accounts/{account_id}").json
    images = [shown[k] for k in ("avatar", "avatar_static", "header", "header_static")]
    assert MISSING_AVATAR not in images and not any(remote.origin in url for url in images)  # never dana's server
    avatar = Image.open(io.BytesIO(_shown(fedikit_client, shown["avatar"])))
    assert avatar.size == (400, 400)  # re-encoded as a local avatar is
    assert Image.open(io.BytesIO(_shown(fedikit_client, shown["header"]))).size == (1500, 500)

    # A new avatar: its URL changes; the old copy goes, the new one is made.
    remote.files["/media/dana-avatar-2.png"] = ("image/png", _png((100, 100), (0, 0, 0)))
    remote.documents["/users/dana"]["icon"] = {"type": "Image", "url": f"{remote.origin}/media/dana-avatar-2.png"}
    _discover(fedikit_app, dana, refresh=True)
    again = fedikit_client.get(f"/api/v1/accounts/{account_id}").json
    assert remote.origin not in again["avatar"] and again["avatar"] not in (shown["avatar"], MISSING_AVATAR)
    assert again["header"] == shown["header"]  # unchanged: kept, not fetched again
    assert remote.fetched.count("/media/dana-header.png") == 1
    assert _gone(fedikit_client, shown["avatar"])


def test_no_copy_where_media_are_rejected_or_the_file_is_no_image(
    fedikit_app: Flask, fedikit_client: FlaskClient, remote: FakeRemote
) -> None:
    remote.files["/media/text.png"] = ("image/png", b"this is no image")
    erin = _person(remote, "erin", icon={"type": "Image", "url": f"{remote.origin}/media/text.png"})
    shown = fedikit_client.get(f"/api/v1/accounts/{_discover(fedikit_app, erin)}").json
    assert shown["avatar"] == MISSING_AVATAR  # the stand-in, never the remote URL

    remote.files["/media/fine.png"] = ("image/png", _png((50, 50), (1, 2, 3)))
    fred = _person(remote, "fred", icon={"type": "Image", "url": f"{remote.origin}/media/fine.png"})
    with fedikit_app.app_context():
        domain_blocks.block(remote.origin.removeprefix("http://"), severity="noop", reject_media=True)
    shown = fedikit_client.get(f"/api/v1/accounts/{_discover(fedikit_app, fred)}").json
    assert shown["avatar"] == MISSING_AVATAR
    assert "/media/fine.png" not in remote.fetched


def _note(author: Remote, n: int) -> dict[str, Any]:
    return {
        "id": f"{author.uri}/statuses/{n}",
        "type": "Note",
        "attributedTo": author.uri,
        "content": f"<p>post {n}</p>",
        "published": "2024-01-02T03:04:05Z",
        "to": [AS_PUBLIC],
        "cc": [f"{author.uri}/followers"],
    }


def test_pinned_posts_are_read_from_the_featured_collection(
    fedikit_app: Flask, fedikit_client: FlaskClient, remote: FakeRemote, carol: Remote
) -> None:
    gina = _person(remote, "gina")
    featured = f"{gina.uri}/collections/featured"
    remote.documents["/users/gina"]["featured"] = featured
    for n in (1, 2):
        remote.documents[f"/users/gina/statuses/{n}"] = _note(gina, n)
    remote.documents["/users/gina/statuses/2"]["inReplyTo"] = f"{carol.uri}/statuses/10"
    remote.documents["/users/carol/statuses/10"] = _note(carol, 10)
    remote.documents["/users/carol/statuses/9"] = _note(carol, 9)
    remote.documents["/users/gina/collections/featured"] = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": featured,
        "type": "OrderedCollection",
        "totalItems": 3,
        # an embedded item is fetched by its id; another author's post does not count
        "orderedItems": [_note(gina, 1), f"{gina.uri}/statuses/2", f"{carol.uri}/statuses/9"],
    }
    account_id = _discover(fedikit_app, gina)
    pinned = fedikit_client.get(f"/api/v1/accounts/{account_id}/statuses?pinned=true").json
    assert sorted(s["uri"] for s in pinned) == [f"{gina.uri}/statuses/1", f"{gina.uri}/statuses/2"]
    assert "/users/carol/statuses/10" not in remote.fetched  # a pin's thread is not read with it

    remote.documents["/users/gina/collections/featured"]["orderedItems"] = [f"{gina.uri}/statuses/2"]
    _discover(fedikit_app, gina, refresh=True)
    pinned = fedikit_client.get(f"/api/v1/accounts/{account_id}/statuses?pinned=true").json
    assert [s["uri"] for s in pinned] == [f"{gina.uri}/statuses/2"]
