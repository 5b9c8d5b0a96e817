"""Account search matches the beginnings of words, as compose autocomplete needs; odd queries never fail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from contract import document, validate_list
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.services.accounts import update_profile
from fedikit.plugin_api.conformance import HOSTILE_QUERIES
from fedikit.plugin_api.testing import settle

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

V1 = "/api/v1/accounts/search"
V2 = "/api/v2/search"
HANDLE_QUERIES = ("@", "@@", "a@", "@'", "x'@y:*", "@alice@\x00", "https://", "http://x\x00", "https://x/@'*")
HOSTILE_HTTP = (*HOSTILE_QUERIES, *HANDLE_QUERIES, "a " * 500, "é" * 1000, "NEAR(alice, 2) AND -bob:*")


@pytest.fixture
def viewer(fedikit_app: Flask, make_api_user: MakeApiUser) -> ApiUser:
    """Local ``alice`` and ``alicia`` (Alicia Keys), ``bob``; remote ``alice@mastodon.example``; all indexed."""
    document()
    viewer = make_api_user("viewer")
    make_api_user("alice")
    update_profile(make_api_user("alicia").account, display_name="Alicia Keys")
    make_api_user("bob")
    far = Account(username="alice", domain="mastodon.example", uri="https://mastodon.example/users/alice")
    db.session.add(far)
    db.session.commit()
    jobs.enqueue("core.index_account", account_id=far.id)  # as a protocol plugin storing an account would
    settle(fedikit_app)
    return viewer


def v1(client: FlaskClient, who: ApiUser, q: str, **query: Any) -> list[str]:
    answer = client.get(V1, query_string={"q": q, **query}, headers=who.headers)
    assert answer.status_code == 200, answer.text
    validate_list(answer.json, "Account")
    return [a["acct"] for a in answer.json]


def v2(client: FlaskClient, who: ApiUser, q: str) -> list[str]:
    answer = client.get(V2, query_string={"q": q, "type": "accounts"}, headers=who.headers)
    assert answer.status_code == 200, answer.text
    validate_list(answer.json["accounts"], "Account")
    return [a["acct"] for a in answer.json["accounts"]]


def test_the_start_of_a_name_finds_it(fedikit_client: FlaskClient, viewer: ApiUser) -> None:
    for search in (v1, v2):
        assert sorted(search(fedikit_client, viewer, "ali")) == ["alice", "alice@mastodon.example", "alicia"]
        assert search(fedikit_client, viewer, "ALICI") == ["alicia"]
        assert search(fedikit_client, viewer, "ke") == ["alicia"]  # the display name
        assert search(fedikit_client, viewer, "key ali") == ["alicia"]  # every word, in any order
        assert search(fedikit_client, viewer, "mastodon.exa") == ["alice@mastodon.example"]  # the domain
        assert search(fedikit_client, viewer, "bo") == ["bob"]
        assert search(fedikit_client, viewer, "ali bo") == []
        assert search(fedikit_client, viewer, "lice") == []


def test_a_handle_typed_in_part(fedikit_client: FlaskClient, viewer: ApiUser) -> None:
    assert v1(fedikit_client, viewer, "@alice@mast") == ["alice@mastodon.example"]
    assert v1(fedikit_client, viewer, "@alice@fedikit.test")[0] == "alice"  # the exact handle first
    assert v1(fedikit_client, viewer, "alicia@fedikit.test") == ["alicia"]
    assert sorted(v1(fedikit_client, viewer, "@ali@")) == ["alice", "alice@mastodon.example", "alicia"]
    assert v1(fedikit_client, viewer, "@alice@mastodon.example") == ["alice@mastodon.example"]
    assert v1(fedikit_client, viewer, "@alice@elsewhere") == []
    assert v1(fedikit_client, viewer, "alice@mast", limit=1) == ["alice@mastodon.example"]
    assert v1(fedikit_client, viewer, "ali@", following="true") == []


@pytest.mark.parametrize("url", [V1, V2])
def test_hostile_queries_answer(fedikit_client: FlaskClient, viewer: ApiUser, url: str) -> None:
    for q in HOSTILE_HTTP:
        for kind in ("accounts", None) if url == V2 else (None,):
            answer = fedikit_client.get(url, query_string={"q": q, "type": kind}, headers=viewer.headers)
            assert answer.status_code in (200, 400), (q, kind, answer.status_code, answer.text)
            if answer.status_code == 400:  # Mastodon's for a blank q: nothing but spaces (or NUL)
                assert not q.replace("\x00", "").strip(), (q, answer.text)
                continue
            found = answer.json if url == V1 else answer.json["accounts"]
            assert isinstance(found, list), (q, found)
