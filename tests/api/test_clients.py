"""A real client against a real server: Mastodon.py talking to ``fedikit serve`` over HTTP."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

mastodon = pytest.importorskip("mastodon")
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base_url: str, env: dict[str, str]) -> None:
        self.base_url = base_url
        self.env = env

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fedikit", *args], env=self.env, capture_output=True, text=True, check=True
        )
        return result.stdout

    def create_user(self, username: str) -> tuple[str, str]:
        email = f"{username}@example.com"
        output = self.cli("accounts", "create", username, "--email", email, "--confirmed")
        return email, re.search(r"New password: (\S+)", output).group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("served")
    (folder / "empty.env").write_text("")
    port = _free_port()
    env = {
        **os.environ,
        "FEDIKIT_DATA_DIR": str(folder / "data"),
        "FEDIKIT_ENV_FILE": str(folder / "empty.env"),
        "LOCAL_DOMAIN": f"127.0.0.1:{port}",
        "LOCAL_HTTPS": "false",
        "SECRET_KEY_BASE": "client-test",
    }
    subprocess.run([sys.executable, "-m", "fedikit", "db", "upgrade"], env=env, check=True, capture_output=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "fedikit", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)
    try:
        yield Server(base, env)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _client(server: Server, username: str) -> Any:
    client_id, client_secret = mastodon.Mastodon.create_app(
        "fedikit tests", scopes=["read", "write", "follow"], api_base_url=server.base_url
    )
    api = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url)
    email, password = server.create_user(username)
    api.log_in(email, password, scopes=["read", "write", "follow"], allow_http=True)  # plain http on loopback
    return api


def test_password_login_post_and_read(server: Server) -> None:
    alice = _client(server, "alice")
    me = alice.account_verify_credentials()
    assert me.username == "alice" and me.acct == "alice"

    posted = alice.status_post("Hello from a real client #fedikit", spoiler_text="greetings")
    assert posted.spoiler_text == "greetings" and posted.sensitive is True
    assert "#<span>fedikit</span>" in posted.content
    reply = alice.status_post("a reply", in_reply_to_id=posted.id)
    context = alice.status_context(posted.id)
    assert [s.id for s in context.descendants] == [reply.id]

    home = alice.timeline_home()
    assert [s.id for s in home][:2] == [reply.id, posted.id]
    assert [s.id for s in alice.timeline_public(local=True)][:2] == [reply.id, posted.id]


def test_follow_boost_favourite_and_paginate(server: Server) -> None:
    bob = _client(server, "bob")
    carol = _client(server, "carol")
    carol_account = carol.account_verify_credentials()
    relationship = bob.account_follow(carol_account.id)
    assert relationship.following is True

    posts = [carol.status_post(f"post {n}", visibility="private") for n in range(5)]
    favourited = bob.status_favourite(posts[0].id)
    assert favourited.favourited is True and favourited.favourites_count == 1
    with pytest.raises(mastodon.MastodonAPIError):
        bob.status_reblog(posts[1].id)  # followers-only posts of others cannot be boosted
    public = carol.status_post("boost this")
    boost = bob.status_reblog(public.id)
    assert boost.reblog.id == public.id and boost.reblog.reblogged is True

    first_page = bob.timeline_home(limit=2)
    second_page = bob.fetch_next(first_page)
    assert len(first_page) == 2 and len(second_page) == 2
    assert first_page[-1].id > second_page[0].id

    bob.account_unfollow(carol_account.id)
    assert all(s.account.id != carol_account.id for s in bob.timeline_home())

    deleted = carol.status_delete(posts[4].id)
    assert deleted.text == "post 4"
    with pytest.raises(mastodon.MastodonNotFoundError):
        bob.status(posts[3].id)  # followers-only, and bob no longer follows
