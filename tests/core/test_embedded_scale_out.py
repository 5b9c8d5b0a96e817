"""Several web processes on embedded defaults: no services, yet one instance.

With ``WEB_CONCURRENCY`` > 1 and no Redis, streams and rate limits go
between the processes of the machine (Unix sockets, a shared SQLite cache
file in the data directory). Two ``fedikit serve`` of two processes each
share one data directory here: a post made through one reaches a stream
opened on the other, and a token's requests are counted on both together.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from processes import answers, create_person, fedikit, free_port, running

mastodon = pytest.importorskip("mastodon")
websocket = pytest.importorskip("websocket")
pytestmark = pytest.mark.slow

SCOPES = ["read", "write", "follow"]


def _client(base_url: str, login: tuple[str, str]) -> Any:
    client_id, secret = mastodon.Mastodon.create_app("embedded", scopes=SCOPES, api_base_url=base_url)
    api = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=base_url)
    api.log_in(*login, scopes=SCOPES, allow_http=True)
    return api


def _remaining(base_url: str, token: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.headers["X-RateLimit-Remaining"])


def test_two_servers_of_two_processes_share_streams_and_rate_limits(tmp_path: Path) -> None:
    port_a, port_b = free_port(), free_port()
    (tmp_path / "empty.env").write_text("")
    env = {
        **os.environ,
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_ENV_FILE": str(tmp_path / "empty.env"),
        "LOCAL_DOMAIN": f"127.0.0.1:{port_a}",
        "LOCAL_HTTPS": "false",
        "SECRET_KEY_BASE": "embedded-scale-out",
        "STREAMING_HEARTBEAT": "2",
        "RATE_LIMITS": "sign_in_ip=1000/300,sign_in_login=1000/3600",
    }
    for key in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "STREAMING_BACKEND", "CACHE_BACKEND"):
        env.pop(key, None)
    subprocess.run(fedikit("db", "upgrade"), env=env, check=True, capture_output=True)
    alice_login, bob_login = create_person(env, "alice"), create_person(env, "bob")
    log = tmp_path / "processes.log"
    a_url, b_url = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    with (
        running(fedikit("serve", "--port", str(port_a), "--workers", "2"), env, log, ready=answers(f"{a_url}/health")),
        running(fedikit("serve", "--port", str(port_b), "--workers", "2"), env, log, ready=answers(f"{b_url}/health")),
    ):
        alice, bob = _client(a_url, alice_login), _client(b_url, bob_login)
        bob.account_follow(bob.account_lookup("alice").id)
        url = f"ws://127.0.0.1:{port_b}/api/v1/streaming?stream=user"
        stream = websocket.create_connection(url, header=[f"Authorization: Bearer {bob.access_token}"], timeout=30)
        try:
            alice.status_post("hello from the other server")
            while True:
                frame = json.loads(stream.recv())
                if frame.get("event") == "update":
                    break
            assert json.loads(frame["payload"])["content"] == "<p>hello from the other server</p>"
        finally:
            stream.close()

        first = _remaining(a_url, bob.access_token)
        assert [_remaining(b_url, bob.access_token), _remaining(a_url, bob.access_token)] == [first - 1, first - 2]
    output = log.read_text()
    assert "streaming backend: sockets (plugin memory_pubsub; WEB_CONCURRENCY > 1 without services)" in output
    assert "cache backend: sqlite (plugin memory_cache; WEB_CONCURRENCY > 1 without services)" in output
    assert not list((tmp_path / "data" / "streaming").glob("*.sock"))  # each process removed its socket
