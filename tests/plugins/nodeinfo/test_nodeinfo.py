"""The bundled NodeInfo plugin: discovery document, NodeInfo 2.0, counts, registrations, CORS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.db import db, utcnow
from fedikit.core.models import Account, Status
from fedikit.core.services import statuses
from fedikit.core.services.accounts import create_local_account
from fedikit.plugin_api import hookimpl

SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.0"


def nodeinfo(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/nodeinfo/2.0")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == f'application/json; profile="{SCHEMA}#"'
    return response.json


def test_plugin_is_bundled_and_loaded(fedikit_app: Flask) -> None:
    info = {i.name: i for i in fedikit_app.extensions["fedikit"].plugins}["nodeinfo"]
    assert (info.distribution, info.source) == ("fedikit", "entry point")
    assert info.hooks(fedikit_app.extensions["fedikit"].pm) == ["register_blueprints"]


def test_well_known_points_at_the_2_0_and_2_1_documents(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {
        "links": [
            {"rel": SCHEMA, "href": "https://fedikit.test/nodeinfo/2.0"},
            {"rel": SCHEMA.replace("2.0", "2.1"), "href": "https://fedikit.test/nodeinfo/2.1"},
        ]
    }
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "public" in response.headers["Cache-Control"]


def test_document_on_an_empty_instance(fedikit_client: FlaskClient) -> None:
    response = fedikit_client.get("/nodeinfo/2.0")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert nodeinfo(fedikit_client) == {
        "version": "2.0",
        "software": {"name": "fedikit", "version": "0.1.0"},
        "protocols": ["activitypub"],  # the bundled ActivityPub plugin says so
        "services": {"outbound": [], "inbound": []},
        "usage": {"users": {"total": 0, "activeMonth": 0, "activeHalfyear": 0}, "localPosts": 0},
        "openRegistrations": False,  # REGISTRATIONS_MODE defaults to none
        "metadata": {"nodeName": "fedikit.test", "nodeDescription": ""},
    }
    newer = fedikit_client.get("/nodeinfo/2.1")
    assert (
        newer.headers["Content-Type"] == 'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"'
    )
    assert newer.json == {**nodeinfo(fedikit_client), "version": "2.1"}
    assert fedikit_client.get("/nodeinfo/2.2").status_code == 404


class Diaspora:
    @hookimpl
    def protocols(self) -> list[str]:
        return ["diaspora", "activitypub"]


@pytest.mark.parametrize("fedikit_plugins", [[Diaspora()]])
def test_hook_protocols(fedikit_client: FlaskClient) -> None:
    assert nodeinfo(fedikit_client)["protocols"] == ["activitypub", "diaspora"]  # merged, each once


@pytest.mark.parametrize("settings", [{"FEDIKIT_DISABLED_PLUGINS": "activitypub"}])
def test_protocols_are_what_loaded_plugins_speak(fedikit_client: FlaskClient) -> None:
    assert nodeinfo(fedikit_client)["protocols"] == []


def test_usage_counts_as_the_instance_endpoint_does(fedikit_client: FlaskClient) -> None:
    alice = create_local_account("alice", "alice@example.com", "correct horse battery", confirmed=True)
    bob = create_local_account("bob", "bob@example.com", "correct horse battery", confirmed=True)
    carol = create_local_account("carol", "carol@example.com", "correct horse battery", confirmed=True)
    create_local_account("unconfirmed", "unconfirmed@example.com", "correct horse battery")  # not counted
    carol.account.suspended_at = utcnow()  # not counted
    alice.current_sign_in_at = utcnow() - dt.timedelta(days=3)
    bob.current_sign_in_at = utcnow() - dt.timedelta(days=90)
    db.session.commit()
    statuses.post(alice.account, "one")
    statuses.post(bob.account, "two")
    far = Account(username="far", domain="far.example", uri="https://far.example/users/far")
    db.session.add(far)
    db.session.flush()
    db.session.add(Status(uri="https://far.example/statuses/1", account=far, local=False, content="<p>afar</p>"))
    db.session.commit()
    usage = nodeinfo(fedikit_client)["usage"]
    assert usage == {"users": {"total": 2, "activeMonth": 1, "activeHalfyear": 2}, "localPosts": 2}
    stats = fedikit_client.get("/api/v1/instance").json["stats"]
    assert (stats["user_count"], stats["status_count"]) == (usage["users"]["total"], usage["localPosts"])


@pytest.mark.parametrize(
    ("settings", "open_registrations"),
    [
        ({"REGISTRATIONS_MODE": "open"}, True),
        ({"REGISTRATIONS_MODE": "approved"}, True),
        ({"REGISTRATIONS_MODE": "none"}, False),
        ({"REGISTRATIONS_MODE": "open", "SINGLE_USER_MODE": "true"}, False),
    ],
)
def test_open_registrations_follow_the_setting(fedikit_client: FlaskClient, open_registrations: bool) -> None:
    assert nodeinfo(fedikit_client)["openRegistrations"] is open_registrations


@pytest.mark.parametrize(
    "settings", [{"INSTANCE_TITLE": "Garden Club", "INSTANCE_DESCRIPTION": "For gardeners", "WEB_DOMAIN": "w.test"}]
)
def test_metadata_and_links_come_from_the_settings(fedikit_client: FlaskClient) -> None:
    assert nodeinfo(fedikit_client)["metadata"] == {"nodeName": "Garden Club", "nodeDescription": "For gardeners"}
    href = fedikit_client.get("/.well-known/nodeinfo").json["links"][0]["href"]
    assert href == "https://w.test/nodeinfo/2.0"


@pytest.mark.parametrize("settings", [{"FEDIKIT_DISABLED_PLUGINS": "nodeinfo"}])
def test_disabled_plugin_serves_nothing(fedikit_client: FlaskClient) -> None:
    assert fedikit_client.get("/.well-known/nodeinfo").status_code == 404
    assert fedikit_client.get("/nodeinfo/2.0").status_code == 404
