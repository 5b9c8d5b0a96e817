"""GET /api/v1/accounts/search: the same account search as /api/v2/search, with ``following``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from contract import document, validate_list
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.db import db, utcnow
from fedikit.core.services import relationships
from fedikit.core.services.accounts import update_profile
from fedikit.plugin_api.testing import settle

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

URL = "/api/v1/accounts/search"


@pytest.fixture
def alice(fedikit_app: Flask, make_api_user: MakeApiUser) -> ApiUser:
    """alice follows ``gardener_one``; ``gardener_two`` is a stranger; all indexed."""
    document()
    alice = make_api_user("alice")
    one, two = make_api_user("gardener_one"), make_api_user("gardener_two")
    update_profile(one.account, display_name="Rose Gardener")
    update_profile(two.account, display_name="Tulip Gardener")
    relationships.follow(alice.account, one.account)
    settle(fedikit_app)
    return alice


def search(client: FlaskClient, who: ApiUser, **query: Any) -> list[str]:
    answer = client.get(URL, query_string=query, headers=who.headers)
    assert answer.status_code == 200, answer.text
    validate_list(answer.json, "Account")
    return sorted(a["acct"] for a in answer.json)


def test_words_match_names(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    assert search(fedikit_client, alice, q="gardener") == ["gardener_one", "gardener_two"]
    assert search(fedikit_client, alice, q="tulip") == ["gardener_two"]
    assert len(search(fedikit_client, alice, q="gardener", limit=1)) == 1
    assert len(search(fedikit_client, alice, q="gardener", limit=1, offset=1)) == 1
    assert search(fedikit_client, alice, q="gardener", offset=2) == []


def test_following_only(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    assert search(fedikit_client, alice, q="gardener", following="true") == ["gardener_one"]
    assert search(fedikit_client, alice, q="tulip", following="true") == []
    assert search(fedikit_client, alice, q="gardener_two@fedikit.test", following="true") == []
    assert search(fedikit_client, alice, q="gardener_one@fedikit.test", following="true") == ["gardener_one"]


def test_handles_and_profile_urls(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    assert search(fedikit_client, alice, q="@gardener_two@fedikit.test") == ["gardener_two"]
    assert search(fedikit_client, alice, q="https://fedikit.test/@gardener_one") == ["gardener_one"]
    assert search(fedikit_client, alice, q="nobody@fedikit.test") == []


def test_blank_query_and_suspended_accounts(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    assert search(fedikit_client, alice, q="") == []
    assert search(fedikit_client, alice) == []
    from fedikit.core.services.accounts import find_local

    find_local("gardener_two").suspended_at = utcnow()
    db.session.commit()
    assert search(fedikit_client, alice, q="gardener") == ["gardener_one"]
    assert search(fedikit_client, alice, q="gardener_two@fedikit.test") == []


def test_bad_parameters(fedikit_client: FlaskClient, alice: ApiUser) -> None:
    answer = fedikit_client.get(URL, query_string={"q": "x", "limit": "many"}, headers=alice.headers)
    assert answer.status_code == 422
    answer = fedikit_client.get(URL, query_string={"q": "x", "following": "perhaps"}, headers=alice.headers)
    assert answer.status_code == 422
