"""What other servers GET from us: actors, the instance actor, statuses and collections.

Served as ActivityPub JSON to requests that ask for it (and redirected to
the web page otherwise); followers-only and direct statuses only to a
signed request from someone core lets see them; with ``AUTHORIZED_FETCH``
every document but the instance actor needs a signature.
"""

from __future__ import annotations

from typing import Any

import pytest
from fake_remote import AP, FEDERATING, FakeRemote, Remote
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.models import Account
from fedikit.core.services import accounts, relationships, statuses
from fedikit.plugins.activitypub.signatures import load_public_key, sign_request

BASE_URL = "http://fedikit.test"
WANTS_AP = {"Accept": "application/activity+json"}


@pytest.fixture
def settings() -> dict[str, Any]:
    return dict(FEDERATING)


@pytest.fixture
def alice(fedikit_app: Flask) -> Account:
    return accounts.create_local_account("alice", "alice@example.com", "correct horse battery", confirmed=True).account


@pytest.fixture
def client(fedikit_app: Flask) -> FlaskClient:
    return fedikit_app.test_client()


def get(client: FlaskClient, path: str, signer: Remote | None = None) -> Any:
    headers = dict(WANTS_AP)
    if signer is not None:
        headers = sign_request("GET", BASE_URL + path, headers, None, signer.key_id, signer.private_pem)
    return client.get(path, headers=headers, base_url=BASE_URL)


def test_an_actor_is_served_as_activitypub_json(client: FlaskClient, alice: Account) -> None:
    accounts.update_profile(alice, display_name="Alice", note="gardener", fields=[{"name": "site", "value": "x"}])
    response = get(client, "/users/alice")
    assert response.status_code == 200
    assert response.mimetype == AP
    actor = response.json
    assert actor["@context"][:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert actor["id"] == f"{BASE_URL}/users/alice" and actor["type"] == "Person"
    assert actor["preferredUsername"] == "alice" and actor["name"] == "Alice"
    assert actor["inbox"] == f"{BASE_URL}/users/alice/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"{BASE_URL}/inbox"
    assert actor["followers"] == f"{BASE_URL}/users/alice/followers"
    assert actor["attachment"][0]["type"] == "PropertyValue"
    key = actor["publicKey"]
    assert key["id"] == f"{BASE_URL}/users/alice#main-key" and key["owner"] == actor["id"]
    assert load_public_key(key["publicKeyPem"]).key_size == 2048
    assert get(client, "/users/alice").json["publicKey"] == key  # made once, then kept


def test_a_browser_is_sent_to_the_profile_page(client: FlaskClient, alice: Account) -> None:
    response = client.get("/users/alice", headers={"Accept": "text/html"}, base_url=BASE_URL)
    assert response.status_code == 302
    assert response.headers["Location"] == f"{BASE_URL}/@alice"


def test_unknown_and_suspended_accounts(client: FlaskClient, alice: Account) -> None:
    assert get(client, "/users/nobody").status_code == 404
    from fedikit.core.db import db, utcnow

    alice.suspended_at = utcnow()
    db.session.commit()
    assert get(client, "/users/alice").status_code == 410


def test_the_instance_actor_is_served_without_a_signature(client: FlaskClient) -> None:
    response = get(client, "/actor")
    assert response.status_code == 200
    actor = response.json
    assert actor["type"] == "Application" and actor["id"] == f"{BASE_URL}/actor"
    assert actor["publicKey"]["owner"] == actor["id"]
    assert actor["manuallyApprovesFollowers"] is True


def test_nobody_can_sign_up_with_the_instance_actors_name(fedikit_app: Flask) -> None:
    from fedikit.core.errors import ValidationError

    with pytest.raises(ValidationError, match="reserved"):
        accounts.create_local_account("fedikit.test", "x@example.com", "correct horse battery")


@pytest.mark.parametrize("visibility", ["public", "unlisted"])
def test_public_statuses_are_served_to_anyone(client: FlaskClient, alice: Account, visibility: str) -> None:
    status = statuses.post(alice, "hello #garden", visibility=visibility)
    response = get(client, f"/users/alice/statuses/{status.id}")
    assert response.status_code == 200
    note = response.json
    assert note["id"] == status.uri and note["type"] == "Note"
    assert note["attributedTo"] == alice.uri
    public = "https://www.w3.org/ns/activitystreams#Public"
    assert public in (note["to"] if visibility == "public" else note["cc"])
    assert {"type": "Hashtag", "name": "#garden"}.items() <= note["tag"][0].items()


@pytest.mark.parametrize("visibility", ["private", "direct"])
def test_private_statuses_only_to_a_signed_request_from_someone_who_may_see_them(
    client: FlaskClient, alice: Account, remote_server: FakeRemote, bob: Remote, carol: Remote, visibility: str
) -> None:
    from fedikit.plugins.activitypub import remote

    bob_here = remote.actor(bob.uri)
    if visibility == "private":
        relationships.follow(bob_here, alice)  # alice is unlocked: bob follows her at once
        status = statuses.post(alice, "for my followers", visibility="private")
    else:
        status = statuses.post(alice, f"@bob@{remote_server.origin.split('//')[1]} psst", visibility="direct")
        from fedikit.core.db import db
        from fedikit.core.models import Mention

        if not status.mentions:  # the renderer may not resolve a port-qualified handle: mention bob directly
            db.session.add(Mention(status_id=status.id, account_id=bob_here.id))
            db.session.commit()
    path = f"/users/alice/statuses/{status.id}"
    assert get(client, path).status_code == 404  # anonymous
    assert get(client, path, signer=carol).status_code == 404  # signed, but not in the audience
    response = get(client, path, signer=bob)
    assert response.status_code == 200
    assert response.json["id"] == status.uri
    assert "private" in response.headers["Cache-Control"]


def test_a_bad_signature_on_a_get_is_401(client: FlaskClient, alice: Account, bob: Remote, carol: Remote) -> None:
    headers = sign_request("GET", BASE_URL + "/users/alice", dict(WANTS_AP), None, bob.key_id, carol.private_pem)
    assert client.get("/users/alice", headers=headers, base_url=BASE_URL).status_code == 401


@pytest.mark.parametrize("settings", [{**FEDERATING, "AUTHORIZED_FETCH": "true"}])
def test_authorized_fetch_requires_signed_gets(client: FlaskClient, alice: Account, bob: Remote) -> None:
    status = statuses.post(alice, "hello")
    for path in ("/users/alice", f"/users/alice/statuses/{status.id}", "/users/alice/followers"):
        assert get(client, path).status_code == 401, path
        assert get(client, path, signer=bob).status_code == 200, path
    assert get(client, "/actor").status_code == 200  # or two such servers could never meet


def test_collections_count(client: FlaskClient, alice: Account, bob: Remote) -> None:
    from fedikit.plugins.activitypub import remote

    relationships.follow(remote.actor(bob.uri), alice)
    statuses.post(alice, "one")
    followers = get(client, "/users/alice/followers").json
    assert followers["type"] == "OrderedCollection" and followers["totalItems"] == 1
    assert get(client, "/users/alice/outbox").json["totalItems"] == 1
    assert get(client, "/users/alice/following").json["totalItems"] == 0


def test_featured_collections(client: FlaskClient, alice: Account) -> None:
    from fedikit.core.services import featured_tags

    pinned = statuses.post(alice, "pinned")
    hidden = statuses.post(alice, "pinned, followers only", visibility="private")
    statuses.pin(alice, pinned)
    statuses.pin(alice, hidden)
    featured_tags.feature(alice, "Gardening")
    featured = get(client, "/users/alice/collections/featured").json
    assert [note["id"] for note in featured["orderedItems"]] == [pinned.uri]  # anyone reads it: public ones only
    tags = get(client, "/users/alice/collections/tags").json
    assert [(t["type"], t["name"]) for t in tags["orderedItems"]] == [("Hashtag", "#gardening")]
