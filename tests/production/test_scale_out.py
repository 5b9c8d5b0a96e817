"""Scaling out as production does: two web processes and a worker sharing PostgreSQL and Redis.

The web nodes are two ``fedikit serve`` processes of one instance (as behind
a load balancer), the worker is ``fedikit worker``; feeds, jobs and live
streams go through a Redis server of the test's own, which the test kills
and starts again.
"""

from __future__ import annotations

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from processes import answers, create_person, eventually, fedikit, free_port, redis_server, running

mastodon = pytest.importorskip("mastodon")
websocket = pytest.importorskip("websocket")
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

SCOPES = ["read", "write", "follow"]


class Node:
    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.env = env
        self.base_url = f"http://127.0.0.1:{port}"

    def client(self, email: str, password: str) -> Any:
        client_id, secret = mastodon.Mastodon.create_app("scale-out", scopes=SCOPES, api_base_url=self.base_url)
        api = mastodon.Mastodon(client_id=client_id, client_secret=secret, api_base_url=self.base_url)
        api.log_in(email, password, scopes=SCOPES, allow_http=True)
        return api

    def stream(self, token: str) -> Any:
        url = f"ws://127.0.0.1:{self.port}/api/v1/streaming?stream=user"
        return websocket.create_connection(url, header=[f"Authorization: Bearer {token}"], timeout=30)


def _updates(ws: Any, count: int) -> list[str]:
    contents = []
    while len(contents) < count:
        frame = json.loads(ws.recv())
        if frame.get("event") == "update":
            contents.append(json.loads(frame["payload"])["content"])
    return contents


def test_two_web_nodes_and_a_worker_share_feeds_jobs_and_streams(tmp_path: Path, pg_database: str) -> None:
    with redis_server(tmp_path) as redis:
        port_a, port_b = free_port(), free_port()
        (tmp_path / "empty.env").write_text("")
        env = {
            **os.environ,
            "FEDIKIT_DATA_DIR": str(tmp_path / "data"),  # shared, as a network volume or S3 would be
            "FEDIKIT_ENV_FILE": str(tmp_path / "empty.env"),
            "DATABASE_URL": pg_database,
            "REDIS_URL": redis.url,
            "LOCAL_DOMAIN": f"127.0.0.1:{port_a}",
            "LOCAL_HTTPS": "false",
            "SECRET_KEY_BASE": "scale-out",
            "STREAMING_HEARTBEAT": "2",
            "RATE_LIMITS": "sign_in_ip=1000/300,sign_in_login=1000/3600",
        }
        subprocess.run(fedikit("db", "upgrade"), env=env, check=True, capture_output=True)
        alice_login, bob_login = create_person(env, "alice"), create_person(env, "bob")
        log = tmp_path / "processes.log"
        with (
            running(
                fedikit("serve", "--port", str(port_a)), env, log, ready=answers(f"http://127.0.0.1:{port_a}/health")
            ),
            running(
                fedikit("serve", "--port", str(port_b)), env, log, ready=answers(f"http://127.0.0.1:{port_b}/health")
            ),
            running(fedikit("worker"), env, log),
        ):
            node_a, node_b = Node(port_a, env), Node(port_b, env)
            alice, bob = node_a.client(*alice_login), node_b.client(*bob_login)
            bob.account_follow(bob.account_lookup("alice").id)  # through node B
            on_a, on_b = node_a.stream(bob.access_token), node_b.stream(bob.access_token)
            try:
                # Both streams are read all along, as clients read them: the server pings every heartbeat and
                # closes a stream whose client has not answered by the next one.
                with ThreadPoolExecutor(2) as readers:
                    received = [readers.submit(_updates, ws, 1) for ws in (on_a, on_b)]
                    posted = alice.status_post("hello from node A")  # its fan-out runs in the worker
                    assert [r.result(60) for r in received] == [["<p>hello from node A</p>"]] * 2
                home = eventually(lambda: bob.timeline_home(), what="the post in bob's home, read through node B")
                assert [s.id for s in home] == [posted.id]
            finally:
                on_a.close()
                on_b.close()

            # Redis dies: feeds cannot be read, and the API says so; nothing stored in PostgreSQL is lost.
            redis.stop()
            with pytest.raises(mastodon.MastodonAPIError) as failed:
                bob.timeline_home()
            assert failed.value.args[1] == 503, failed.value.args
            # Redis is back, empty: the feed is rebuilt from the database on the next read.
            redis.start()
            rebuilt = eventually(lambda: bob.timeline_home(), what="bob's home rebuilt after Redis came back")
            assert [s.id for s in rebuilt] == [posted.id]
            second = alice.status_post("after the restart")
            eventually(
                lambda: [s.id for s in bob.timeline_home()] == [second.id, posted.id],
                what="a new post to reach bob's home through the restarted Redis and the worker",
            )
