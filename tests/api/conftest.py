"""Fixtures for client API tests: users with tokens, obtained the way clients obtain them."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedikit.core.models import Account, Role, User
from fedikit.plugin_api import Job

OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = "read write follow"


@dataclasses.dataclass
class ApiUser:
    """A local user, the app registered for them (POST /api/v1/apps) and their token (password grant)."""

    user: User
    password: str
    application: dict[str, Any]  # the CredentialApplication answer
    token_response: dict[str, Any]  # the Token answer

    @property
    def token(self) -> str:
        return self.token_response["access_token"]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def account(self) -> Account:
        return self.user.account


def register_app(client: FlaskClient, scopes: str = SCOPES, name: str = "fedikit tests") -> dict[str, Any]:
    response = client.post("/api/v1/apps", data={"client_name": name, "redirect_uris": OOB, "scopes": scopes})
    assert response.status_code == 200, response.text
    return response.json


def password_token(
    client: FlaskClient, application: dict[str, Any], email: str, password: str, scopes: str = SCOPES
) -> dict[str, Any]:
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": password,
            "client_id": application["client_id"],
            "client_secret": application["client_secret"],
            "scope": scopes,
        },
    )
    assert response.status_code == 200, response.text
    return response.json


def app_only_token(client: FlaskClient, scopes: str = SCOPES) -> str:
    """A new app's own token (``client_credentials``): no user behind it, as sign-up wants."""
    application = register_app(client, scopes, name="app only")
    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": application["client_id"],
            "client_secret": application["client_secret"],
            "scope": scopes,
        },
    )
    assert response.status_code == 200, response.text
    return response.json["access_token"]


MakeApiUser = Callable[..., ApiUser]


@pytest.fixture
def make_api_user(fedikit_client: FlaskClient) -> MakeApiUser:
    """``make_api_user("bob", role="owner", scopes="read")``: a new local user holding a fresh token."""
    from fedikit.core.services.accounts import create_local_account

    numbers = itertools.count(1)

    def make(username: str | None = None, *, role: Role | str = Role.USER, scopes: str = SCOPES) -> ApiUser:
        username = username or f"user{next(numbers)}"
        email, password = f"{username}@example.com", f"{username}-password"
        user = create_local_account(username, email, password, role=role, confirmed=True)
        application = register_app(fedikit_client, scopes)
        return ApiUser(
            user, password, application, password_token(fedikit_client, application, email, password, scopes)
        )

    return make


@pytest.fixture
def api_user(make_api_user: MakeApiUser) -> ApiUser:
    """``alice``, a local user with a ``read write follow`` token."""
    return make_api_user("alice")


@pytest.fixture
def delayed_jobs(fedikit_app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[Job]:
    """Jobs queued with a delay (a poll's end, a scheduled post) are kept here instead of waiting in the queue.

    Tests move the clock and run them by hand; jobs without a delay run as usual.
    """
    state = fedikit_app.extensions["fedikit"]
    captured: list[Job] = []
    original = state.queue.enqueue

    def enqueue(job: Job, *, delay: float = 0.0) -> str:
        if delay > 0:
            captured.append(job)
            return job.id
        return original(job, delay=delay)

    monkeypatch.setattr(state.queue, "enqueue", enqueue)
    return captured


@pytest.fixture
def open_stream(fedikit_client: FlaskClient) -> Iterator[Any]:
    """``open_stream("user", alice, tag=...)``: a server-sent-event stream, open and subscribed; closed after."""
    from sse import Stream

    streams: list[Stream] = []

    def open_(path: str, user: ApiUser | None, **params: str) -> Stream:
        stream = Stream(fedikit_client, path, user, **params)
        assert stream.response.status_code == 200, stream.response.get_data(as_text=True)
        assert stream._next_block() == ":)"  # the stream is open and subscribed
        streams.append(stream)
        return stream

    yield open_
    for stream in streams:
        stream.close()
