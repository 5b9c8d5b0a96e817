"""The bundled WebFinger plugin: local accounts' JRD, Mastodon's status codes and lifetimes, host-meta."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account
from fedikit.core.services.accounts import create_local_account, update_profile

WEBFINGER = "/.well-known/webfinger"
XRD = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"
LRDD = "https://fedikit.test/.well-known/webfinger?resource={uri}"


@pytest.fixture
def alice(fedikit_app: Flask) -> Account:
    return create_local_account("Alice", "alice@example.com", "correct horse battery", confirmed=True).account


def finger(client: FlaskClient, resource: str | None) -> Any:
    return client.get(WEBFINGER, query_string={} if resource is None else {"resource": resource})


def jrd(client: FlaskClient, resource: str) -> dict[str, Any]:
    response = finger(client, resource)
    assert response.status_code == 200, (resource, response.status_code)
    assert response.mimetype == "application/jrd+json"
    assert response.headers["Cache-Control"] == "max-age=259200, public"  # Mastodon's 3 days
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return response.json


def expected_jrd(base: str = "https://fedikit.test") -> dict[str, Any]:
    return {
        "subject": "acct:Alice@fedikit.test",
        "aliases": [f"{base}/@Alice", f"{base}/users/Alice"],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{base}/@Alice"},
            {"rel": "self", "type": "application/activity+json", "href": f"{base}/users/Alice"},
            {"rel": "http://ostatus.org/schema/1.0/subscribe", "template": f"{base}/authorize_interaction?uri={{uri}}"},
        ],
    }


def test_plugin_is_bundled_and_loaded(fedikit_app: Flask) -> None:
    info = {i.name: i for i in fedikit_app.extensions["fedikit"].plugins}["webfinger"]
    assert (info.distribution, info.source) == ("fedikit", "entry point")
    assert info.hooks(fedikit_app.extensions["fedikit"].pm) == ["register_blueprints"]


def test_account_address_gets_the_jrd_mastodon_serves(fedikit_client: FlaskClient, alice: Account) -> None:
    assert jrd(fedikit_client, "acct:Alice@fedikit.test") == expected_jrd()


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@fedikit.test",  # usernames match in any case
        "acct:ALICE@FEDIKIT.TEST",
        "ACCT:alice@fedikit.test",
        "alice@fedikit.test",  # Mastodon takes an address without acct:
        "https://fedikit.test/users/Alice",  # the actor
        "https://fedikit.test/@Alice",  # the profile page
        "https://fedikit.test/users/alice",
        "HTTPS://FEDIKIT.TEST/@alice",
    ],
)
def test_every_name_of_the_account_gets_the_same_jrd(
    fedikit_client: FlaskClient, alice: Account, resource: str
) -> None:
    assert jrd(fedikit_client, resource) == expected_jrd()


def test_links_are_the_account_api_s_uri_and_url(fedikit_client: FlaskClient, alice: Account) -> None:
    shown = fedikit_client.get("/api/v1/accounts/lookup", query_string={"acct": "alice"}).json
    document = jrd(fedikit_client, "acct:alice@fedikit.test")
    links = {link["rel"]: link for link in document["links"]}
    assert links["self"]["href"] == shown["uri"]
    assert links["http://webfinger.net/rel/profile-page"]["href"] == shown["url"]
    assert document["aliases"] == [shown["url"], shown["uri"]]


@pytest.mark.parametrize("settings", [{"WEB_DOMAIN": "social.fedikit.test"}])
def test_web_domain_answers_for_the_local_domain(fedikit_client: FlaskClient, alice: Account) -> None:
    expected = expected_jrd("https://social.fedikit.test")  # pages live on WEB_DOMAIN; the address stays LOCAL_DOMAIN's
    assert jrd(fedikit_client, "acct:alice@fedikit.test") == expected
    assert jrd(fedikit_client, "acct:alice@social.fedikit.test") == expected
    assert jrd(fedikit_client, "https://social.fedikit.test/users/Alice") == expected
    assert finger(fedikit_client, "https://fedikit.test/users/Alice").status_code == 404  # not where the actor is


def test_uploaded_avatar_is_linked_as_the_api_shows_it(fedikit_client: FlaskClient, alice: Account) -> None:
    pil = pytest.importorskip("PIL.Image")
    links = jrd(fedikit_client, "acct:alice@fedikit.test")["links"]
    assert "http://webfinger.net/rel/avatar" not in [link["rel"] for link in links]  # the stand-in is never linked
    picture = io.BytesIO()
    pil.new("RGB", (64, 64), "red").save(picture, format="PNG")
    picture.seek(0)
    update_profile(alice, avatar=picture)
    links = jrd(fedikit_client, "acct:alice@fedikit.test")["links"]
    shown = fedikit_client.get(f"/api/v1/accounts/{alice.id}").json["avatar"]
    assert links[-1] == {"rel": "http://webfinger.net/rel/avatar", "type": "image/png", "href": shown}
    if shown.startswith("https://fedikit.test/"):
        assert fedikit_client.get(shown.removeprefix("https://fedikit.test")).status_code == 200
    else:  # object storage serves it
        import httpx

        assert httpx.get(shown, timeout=10).status_code == 200


def test_suspended_account_is_gone(fedikit_client: FlaskClient, alice: Account) -> None:
    alice.suspended_at = utcnow()
    db.session.commit()
    for resource in ("acct:alice@fedikit.test", "https://fedikit.test/users/Alice"):
        response = finger(fedikit_client, resource)
        assert (response.status_code, response.data) == (410, b"")
        assert response.headers["Cache-Control"] == "max-age=180, public"


def test_remote_accounts_are_never_answered_for(fedikit_client: FlaskClient, alice: Account) -> None:
    far = Account(username="far", domain="far.example", uri="https://far.example/users/far")
    far.url = "https://far.example/@far"
    db.session.add(far)
    db.session.commit()
    for resource in ("acct:far@far.example", "far@far.example", far.uri, far.url, "acct:far@fedikit.test"):
        assert finger(fedikit_client, resource).status_code == 404, resource


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        (None, 400),  # no resource
        ("", 400),
        ("acct:alice", 400),  # no domain: neither an address nor a URL
        ("alice", 400),
        ("df/:dfkj", 400),  # Mastodon's "nonsense parameter"
        ("acct:ali\x00ce@fedikit.test", 400),  # control characters are in no resource
        ("acct:alice@fedikit.test\n", 400),
        ("acct:alice@", 404),
        ("acct:@fedikit.test", 404),
        ("acct:@alice@fedikit.test", 404),  # Mastodon does not take a leading @ either
        ("acct:alice@other.example", 404),
        ("acct:alice@other.example@fedikit.test", 404),
        ("acct:alice@fedikit.test@other.example", 404),
        ("acct:fedikit.test@fedikit.test", 404),  # the instance actor is not served yet
        ("acct:" + "a" * 2000 + "@fedikit.test", 404),
        ("https://fedikit.test/users/" + "a" * 2000, 404),
        ("acct:ålice@fedikit.test", 404),
        ("acct:alice@fedikit.tést", 404),
        ("acct:👩‍🚀@fedikit.test", 404),
        ("https://fedikit.test/@ålice", 404),
        ("https://other.example/users/alice", 404),  # Mastodon ignores the host here; this plugin does not
        ("https://other.example/@alice", 404),
        ("http://fedikit.test/users/alice", 404),  # not the scheme the instance serves
        ("https://fedikit.test:8443/users/alice", 404),
        ("https://someone@fedikit.test/users/alice", 404),
        ("https://fedikit.test/users/alice?page=1", 404),
        ("https://fedikit.test/users/alice#main-key", 404),
        ("https://fedikit.test/users/alice/statuses/1", 404),
        ("https://fedikit.test/alice", 404),
        ("https://fedikit.test/users/", 404),
        ("https://fedikit.test", 404),
        ("https://[fedikit.test/users/alice", 404),  # not a URL at all
        ("https://", 404),
    ],
)
def test_bad_resources_get_a_clean_error(
    fedikit_client: FlaskClient, alice: Account, resource: str | None, status: int
) -> None:
    response = finger(fedikit_client, resource)
    assert (response.status_code, response.data) == (status, b"")
    assert response.headers["Cache-Control"] == "max-age=180, public"  # Mastodon's 3 minutes
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_host_meta_is_xrd_by_default(fedikit_client: FlaskClient) -> None:
    for accept in (None, "*/*", "application/xrd+xml", "text/html,application/xml;q=0.9,*/*;q=0.8"):
        response = fedikit_client.get("/.well-known/host-meta", headers={"Accept": accept} if accept else {})
        assert response.status_code == 200
        assert response.mimetype == "application/xrd+xml"
        root = ET.fromstring(response.data)
        assert root.tag == f"{XRD}XRD"
        assert [link.attrib for link in root] == [{"rel": "lrdd", "template": LRDD}]
        assert response.headers["Cache-Control"] == "max-age=259200, public"
        assert response.headers["Vary"] == "Accept"
        assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/.well-known/host-meta.json", None),
        ("/.well-known/host-meta?format=json", None),
        ("/.well-known/host-meta?format=json", "application/xrd+xml"),  # the format asked for by name wins
        ("/.well-known/host-meta", "application/json"),
    ],
)
def test_host_meta_as_json(fedikit_client: FlaskClient, path: str, accept: str | None) -> None:
    response = fedikit_client.get(path, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {"links": [{"rel": "lrdd", "template": LRDD}]}
    assert response.headers["Cache-Control"] == "max-age=259200, public"


def test_host_meta_format_xml_wins_over_accept(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/.well-known/host-meta?format=xml", headers={"Accept": "application/json"})
    assert response.mimetype == "application/xrd+xml"


@pytest.mark.parametrize("settings", [{"WEB_DOMAIN": "social.fedikit.test"}])
def test_host_meta_points_at_the_web_domain(fedikit_client: FlaskClient) -> None:
    root = ET.fromstring(fedikit_client.get("/.well-known/host-meta").data)
    assert root[0].attrib["template"] == "https://social.fedikit.test/.well-known/webfinger?resource={uri}"


@pytest.mark.parametrize("settings", [{"FEDIKIT_DISABLED_PLUGINS": "webfinger"}])
def test_disabled_plugin_serves_nothing(fedikit_client: FlaskClient, alice: Account) -> None:
    assert finger(fedikit_client, "acct:alice@fedikit.test").status_code == 404
    assert fedikit_client.get("/.well-known/host-meta").status_code == 404
