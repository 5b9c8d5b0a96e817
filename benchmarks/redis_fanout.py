"""Redis feeds: fan-out of one post to 10,000 followers, memory per feed, home timeline reads vs SQL feeds.

    .venv/bin/python benchmarks/redis_fanout.py [--database postgresql|sqlite] [--followers 10000]
        [--statuses 100000] [--runs 5] [--requests 500]

Needs Redis at REDIS_URL (default redis://127.0.0.1:6379/9); every key it
writes is under a namespace of its own, deleted at the end. The memory
figure briefly sets ``zset-max-listpack-entries`` on that server and puts the
previous value back.

1. Fan-out: the timeline workload (benchmarks/_dataset.py) plus 10,000 local
   users following one author (all active). Timed: core's whole fan-out job
   (``feeds_for`` + ``store.add``) and ``store.add`` alone. Target < 0.5 s.
2. Memory: ``MEMORY USAGE`` of a full 400-entry feed with the server's current
   listpack limit, and with ``zset-max-listpack-entries 512``.
3. Home timeline (limit 20), in process through the Flask test client, with
   the Redis feed store and with SQL feeds on the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import statistics
import time
from typing import Any

from _dataset import Workload
from _measure import app_for, latencies, seeded, summary, workload_arguments
from sqlalchemy import insert, select

TARGET_FANOUT_S = 0.5
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workload_arguments(parser)
    parser.set_defaults(database="postgresql")
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    namespace = f"fkbench{secrets.token_hex(4)}"
    redis_env = {
        "REDIS_URL": REDIS_URL,
        "REDIS_NAMESPACE": namespace,
        "FEEDS_BACKEND": "redis",
        "QUEUE_BACKEND": "inline",
        "STREAMING_BACKEND": "memory",
    }
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        with seeded(args.database, Workload(statuses=args.statuses)) as (env, sql_app, token):
            redis_app = app_for({**env, **redis_env})
            fan_out(redis_app, args.followers, args.runs)
            memory(redis_app, client, namespace)
            reads(sql_app, redis_app, token, args.requests)
            redis_app.extensions["fedikit"].close()
    finally:
        keys = list(client.scan_iter(f"{namespace}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


def fan_out(app: Any, followers: int, runs: int) -> None:
    from fedikit.core.db import db, utcnow
    from fedikit.core.ids import next_id
    from fedikit.core.models import Account, Follow, User
    from fedikit.core.services import statuses, timelines
    from fedikit.core.services.accounts import create_local_account, local_uris
    from fedikit.plugin_api.testing import settle

    with app.app_context():
        author = create_local_account("author", "author@bench.example", "benchmark-password", confirmed=True).account
        now = utcnow()
        accounts, users, follows = [], [], []
        for n in range(followers):
            account_id = next_id()
            accounts.append({"id": account_id, "username": f"fan{n}", "domain": None, **local_uris(f"fan{n}")})
            accounts[-1].update(created_at=now, updated_at=now, display_name="", note="")
            users.append(
                {
                    "id": next_id(),
                    "account_id": account_id,
                    "email": f"fan{n}@bench.example",
                    "password_hash": "x",
                    "role": "user",
                    "approved": True,
                    "disabled": False,
                    "settings": {},
                    "created_at": now,  # signed up just now: active, so the fan-out reaches all of them
                    "updated_at": now,
                }
            )
            follows.append({"id": next_id(), "account_id": account_id, "target_account_id": author.id})
            follows[-1]["created_at"] = now
        for rows, table in ((accounts, Account), (users, User), (follows, Follow)):
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(table.__table__), rows[start : start + 5000])
        db.session.commit()
        store = app.extensions["fedikit"].feeds
        whole, audience, adding = [], [], []
        for n in range(runs):
            status = statuses.post(author, f"hello followers {n}")
            settle(app)  # the queued fan-out runs first; then the same job is timed by hand (ZADD again, trim)
            started = time.perf_counter()
            timelines.fan_out_job(status.id)
            whole.append(time.perf_counter() - started)
            started = time.perf_counter()
            feeds = timelines.feeds_for(status, active_only=True)
            audience.append(time.perf_counter() - started)
            fresh = next_id()  # a new member in every feed, as a new post makes
            started = time.perf_counter()
            store.add(feeds, fresh)
            adding.append(time.perf_counter() - started)
            store.remove(feeds, fresh)
        assert len(feeds) == followers + 1, len(feeds)
        sample = db.session.scalar(select(User.account_id).where(User.email == "fan7@bench.example"))
        assert status.id in store.ids(f"home:{sample}")
    median = statistics.median(whole)
    verdict = "within" if median < TARGET_FANOUT_S else "OVER"
    print(f"fan-out of one post to {followers:,} followers' home feeds ({runs} runs, medians):")
    print(f"  whole core job (feeds_for + store.add): {median * 1000:.0f} ms ({verdict} the 500 ms target)")
    print(f"  feeds_for alone (SQL audience): {statistics.median(audience) * 1000:.0f} ms")
    adding_ms = statistics.median(adding) * 1000
    print(f"  store.add alone ({len(feeds):,} ZADD + ZREMRANGEBYRANK, pipelined): {adding_ms:.0f} ms")


def memory(app: Any, client: Any, namespace: str) -> None:
    from fedikit.core.ids import id_at

    store = app.extensions["fedikit"].feeds
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    ids = [id_at(start + dt.timedelta(seconds=37 * n)) for n in range(400)]
    previous = client.config_get("zset-max-listpack-entries")["zset-max-listpack-entries"]
    figures = {}
    try:
        for setting in (previous, "512"):
            client.config_set("zset-max-listpack-entries", setting)
            store.clear("home:memory")
            store.fill("home:memory", ids)
            key = f"{namespace}:feed:home:memory"
            figures[setting] = (client.memory_usage(key, samples=0), client.object("encoding", key).decode())
    finally:
        client.config_set("zset-max-listpack-entries", previous)
        store.clear("home:memory")
    for setting, (size, encoding) in figures.items():
        print(
            f"memory of one 400-entry feed, zset-max-listpack-entries {setting}: {size:,} bytes ({encoding}), "
            f"{size * 1_000_000 / 2**30:.2f} GiB per million feeds"
        )


def reads(sql_app: Any, redis_app: Any, token: str, requests: int) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    for name, app in (("sql", sql_app), ("redis", redis_app)):
        client = app.test_client()
        first = client.get("/api/v1/timelines/home?limit=20", headers=headers)  # redis: rebuilt from SQL here
        assert first.status_code == 200 and len(first.json) == 20, (first.status_code, first.text[:200])
        timings = latencies(lambda c=client: c.get("/api/v1/timelines/home?limit=20", headers=headers), requests)
        rate = 1000 / statistics.mean(timings)
        print(f"home timeline in process, {name} feeds: {rate:.0f} requests/s; {summary(timings)}")


if __name__ == "__main__":
    main()
