"""Inbound federation: signed Create activities accepted (202) and processed (stored) per second.

    .venv/bin/python benchmarks/federation_inbound.py [--database sqlite|postgresql]
        [--activities 2000] [--connections 8] [--web-concurrency 1] [--threads 5] [--job-workers 2]
        [--same-second] [--rq-workers N] [--followers 0]

Data: an empty migrated instance served by ``fedikit serve`` (``--web-concurrency``
processes of ``--threads`` threads, the inline job queue with ``--job-workers`` threads each)
and one remote actor, served from 127.0.0.1 by this script, whose key the
instance fetches on the first (unmeasured) delivery. Then ``--activities``
distinct public ``Create`` activities (one Note each, dated one second apart,
draft-cavage signed with the actor's RSA-2048 key before the clock starts)
are POSTed to the shared inbox over ``--connections`` keep-alive connections. Figures: (a) accepted
per second, until the last 202; (b) processed per second, until every Note is
a stored status (the ``statuses`` table is polled on a separate connection),
and until every stored status is also indexed for search, its last follow-up
(``search_documents``, the SQL search backend's table): the follow-ups may lag.
Target: >= 500 processed activities/s on 2 cores with PostgreSQL.
``--same-second`` dates every note in one second, as Mastodon (which dates to
the second) would in a burst: remote status ids are ``ids.id_at(published)``
with 16 random low bits, so such notes collide on the primary key and their
jobs wait for a retry (15 s or more) before they are stored.
``--followers N`` gives the remote actor N local followers (active users, made
in bulk before the clock starts): each stored note then also goes to N home
feeds (with ``--rq-workers``, Redis feeds filled by the fan-out; without, feeds
read from SQL, where storing is all there is to do).
``--rq-workers N`` runs the production backends instead (Redis feeds, RQ,
pub/sub and cache on the local Redis) with N ``fedikit worker`` processes
storing what the web process accepts.
Client, actor server and instance share the machine's cores.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _measure import app_for
from _server import free_port, job_workers, migrated_instance, redis_backends, serving
from sqlalchemy import text

TARGET_PROCESSED_PER_SECOND = 500.0
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class RemoteActor:
    """A remote actor whose document (with its public key) is served on 127.0.0.1."""

    def __init__(self) -> None:
        from fedikit.plugins.activitypub.signatures import generate_key_pair

        self.private_pem, public_pem = generate_key_pair()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.uri = f"{self.base}/users/remote"
        self.key_id = f"{self.uri}#main-key"
        self.fetches = 0
        self.document = json.dumps(
            {
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": self.uri,
                "type": "Person",
                "preferredUsername": "remote",
                "name": "Remote sender",
                "inbox": f"{self.uri}/inbox",
                "outbox": f"{self.uri}/outbox",
                "followers": f"{self.uri}/followers",
                "endpoints": {"sharedInbox": f"{self.base}/inbox"},
                "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": public_pem},
            }
        ).encode()

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        actor = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?")[0] != "/users/remote":
                    self.send_error(404)
                    return
                actor.fetches += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(actor.document)))
                self.end_headers()
                self.wfile.write(actor.document)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            server.shutdown()
            server.server_close()

    def create(self, n: int, same_second: bool = False) -> dict:
        note = f"{self.base}/users/remote/statuses/{n}"
        # Like Mastodon's, to the second; each note a second older than the last unless ``same_second``.
        moment = datetime.now(UTC) - (timedelta(0) if same_second else timedelta(seconds=n))
        published = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{note}/activity",
            "type": "Create",
            "actor": self.uri,
            "published": published,
            "to": [PUBLIC],
            "cc": [f"{self.uri}/followers"],
            "object": {
                "id": note,
                "type": "Note",
                "attributedTo": self.uri,
                "url": f"{self.base}/@remote/{n}",
                "published": published,
                "to": [PUBLIC],
                "cc": [f"{self.uri}/followers"],
                "content": f"<p>Benchmark note number {n}, with a little text to parse.</p>",
                "tag": [],
                "attachment": [],
            },
        }

    def signed(self, url: str, n: int, same_second: bool = False) -> tuple[bytes, dict[str, str]]:
        from fedikit.plugins.activitypub.signatures import ACTIVITY_JSON, sign_request

        body = json.dumps(self.create(n, same_second)).encode()
        headers = sign_request("POST", url, {"Content-Type": ACTIVITY_JSON}, body, self.key_id, self.private_pem)
        return body, headers


def add_followers(actor_uri: str, count: int, base_url: str) -> None:
    """``count`` local accounts with users (signed up now: active), each following ``actor_uri``."""
    from sqlalchemy import insert, select, update

    from fedikit.core.db import db
    from fedikit.core.ids import next_id
    from fedikit.core.models import Account, Follow, User

    target = db.session.scalar(select(Account.id).where(Account.uri == actor_uri))
    readers = {next_id(): f"reader{n}" for n in range(count)}
    accounts = [
        {"id": i, "username": u, "uri": f"{base_url}/users/{u}", "url": f"{base_url}/@{u}"} for i, u in readers.items()
    ]
    users = [
        {"id": next_id(), "account_id": i, "email": f"{u}@x.example", "password_hash": "!"} for i, u in readers.items()
    ]
    follows = [{"id": next_id(), "account_id": i, "target_account_id": target} for i in readers]
    db.session.execute(insert(Account.__table__), accounts)
    db.session.execute(insert(User.__table__), users)
    db.session.execute(insert(Follow.__table__), follows)
    db.session.execute(update(Account).where(Account.id == target).values(followers_count=count))
    db.session.commit()


def post_all(port: int, requests: list[tuple[bytes, dict[str, str]]], connections: int) -> tuple[list[int], float]:
    """POST every request over ``connections`` keep-alive connections; the status codes and the seconds taken."""
    chunks = [requests[i::connections] for i in range(connections)]
    start = threading.Barrier(connections + 1)

    def worker(chunk: list[tuple[bytes, dict[str, str]]]) -> list[int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        codes = []
        start.wait()
        for body, headers in chunk:
            connection.request("POST", "/inbox", body, headers)
            response = connection.getresponse()
            response.read()
            codes.append(response.status)
        connection.close()
        return codes

    with ThreadPoolExecutor(max_workers=connections) as pool:
        futures = [pool.submit(worker, chunk) for chunk in chunks]
        start.wait()
        began = time.perf_counter()
        codes = [code for future in futures for code in future.result()]
    return codes, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--web-concurrency", type=int, default=1, help="web processes (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=5, help="gunicorn threads (MAX_THREADS)")
    parser.add_argument("--job-workers", type=int, default=2, help="inline queue threads (JOB_WORKERS)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the statuses")
    parser.add_argument("--rq-workers", type=int, default=0, help="Redis backends and this many `fedikit worker`s")
    parser.add_argument("--followers", type=int, default=0, help="local followers of the remote actor")
    parser.add_argument(
        "--same-second",
        action="store_true",
        help="date every note the same second (as a burst from many servers is): remote status ids then collide",
    )
    args = parser.parse_args()

    actor = RemoteActor()
    port = free_port()
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(migrated_instance(args.database))
        stack.enter_context(actor.serving())
        if args.rq_workers:
            env = stack.enter_context(redis_backends(env))
        env = {
            **env,
            "LOCAL_DOMAIN": f"127.0.0.1:{port}",
            "LOCAL_HTTPS": "false",
            "ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8",
            "WEB_CONCURRENCY": str(args.web_concurrency),
            "MAX_THREADS": str(args.threads),
            "JOB_WORKERS": str(args.job_workers),
        }
        app = app_for(env)  # only to count the stored statuses, on its own connection
        with app.app_context():
            from fedikit.core.db import db

            engine = db.engine

        def stored() -> int:
            with engine.connect() as connection:
                return connection.scalar(text("SELECT count(*) FROM statuses"))

        def queues_empty() -> bool:  # with RQ: no job waits or runs (the fan-out to followers' feeds included)
            with app.app_context():
                return app.extensions["fedikit"].queue.pending(time.time())[0] == 0

        def indexed() -> int:
            with engine.connect() as connection:
                return connection.scalar(text("SELECT count(*) FROM search_documents WHERE kind = 'statuses'"))

        inbox = f"http://127.0.0.1:{port}/inbox"
        started = time.perf_counter()
        requests = [actor.signed(inbox, n, args.same_second) for n in range(1, args.activities + 1)]
        signing = time.perf_counter() - started
        warmup = actor.signed(inbox, 0)
        print(
            f"data: {args.activities} signed Create activities ({len(requests[0][0])} byte bodies, signed in "
            f"{signing:.1f} s before timing) on {args.database}, 1 remote actor, notes dated "
            + ("all in one second" if args.same_second else "one second apart")
        )

        backends = f"RQ with {args.rq_workers} `fedikit worker`" if args.rq_workers else "the inline job queue"
        print(f"jobs: {backends}")
        with serving(env, port), job_workers(env, args.rq_workers):
            # The first delivery makes the instance fetch and store the actor: not measured.
            codes, _ = post_all(port, [warmup], 1)
            assert codes == [202], codes
            deadline = time.perf_counter() + 30
            while stored() < 1:
                if time.perf_counter() > deadline:
                    raise SystemExit("the warm-up Create was never stored: is the actor reachable?")
                time.sleep(0.05)
            if args.followers:
                with app.app_context():
                    add_followers(actor.uri, args.followers, f"http://127.0.0.1:{port}")
                print(f"followers: {args.followers} local (active) accounts follow the remote actor")

            began = time.perf_counter()
            done: dict[str, float] = {}

            def watch() -> None:
                while time.perf_counter() - began < args.timeout:
                    if "at" not in done and stored() >= args.activities + 1:
                        done["at"] = time.perf_counter() - began
                    if "at" in done and "indexed_at" not in done and indexed() >= args.activities + 1:
                        done["indexed_at"] = time.perf_counter() - began
                    if "indexed_at" in done and (not args.rq_workers or queues_empty()):
                        if args.rq_workers:
                            done["drained_at"] = time.perf_counter() - began
                        return
                    time.sleep(0.02)

            watcher = threading.Thread(target=watch)
            watcher.start()
            codes, accepting = post_all(port, requests, args.connections)
            watcher.join()
            count = stored() - 1

    accepted = codes.count(202)
    others = {code: codes.count(code) for code in set(codes) if code != 202}
    print(
        f"accepted: {accepted}/{len(codes)} answered 202 in {accepting:.2f} s = {accepted / accepting:.0f} "
        f"activities/s over {args.connections} connections" + (f"; other answers: {others}" if others else "")
    )
    if "at" in done:
        processed = args.activities / done["at"]
        verdict = "within" if processed >= TARGET_PROCESSED_PER_SECOND else "UNDER"
        print(
            f"processed: {args.activities} statuses stored {done['at']:.2f} s after the first POST = "
            f"{processed:.0f} activities/s ({done['at'] - accepting:.2f} s after the last 202) "
            f"({verdict} the {TARGET_PROCESSED_PER_SECOND:.0f}/s target)"
        )
    else:
        print(f"processed: only {count}/{args.activities} statuses stored in {args.timeout:.0f} s (UNDER the target)")
    if "indexed_at" in done:
        print(
            f"followed up: {args.activities} statuses stored and indexed {done['indexed_at']:.2f} s after the first "
            f"POST = {args.activities / done['indexed_at']:.0f} activities/s"
        )
    if "drained_at" in done:
        print(
            f"all jobs done (fan-out to followers' feeds included) {done['drained_at']:.2f} s after the first POST = "
            f"{args.activities / done['drained_at']:.0f} activities/s"
        )
    print(
        f"fedikit serve: {args.web_concurrency} process(es) x {args.threads} threads, {args.job_workers} job workers; "
        f"actor document fetched {actor.fetches} time(s)"
    )


if __name__ == "__main__":
    main()
