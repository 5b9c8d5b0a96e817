"""Fixtures of the ActivityPub plugin's tests: ``remote_server`` (one per module) with ``bob`` and ``carol``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fake_remote import FakeRemote, Remote


@pytest.fixture(scope="module")
def remote_server() -> Iterator[FakeRemote]:
    server = FakeRemote()
    server.person("bob")
    server.person("carol")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def remote(remote_server: FakeRemote) -> FakeRemote:
    with remote_server.lock:
        remote_server.posted.clear()
        remote_server.fetched.clear()
    return remote_server


@pytest.fixture
def bob(remote_server: FakeRemote) -> Remote:
    return remote_server.people["bob"]


@pytest.fixture
def carol(remote_server: FakeRemote) -> Remote:
    return remote_server.people["carol"]
