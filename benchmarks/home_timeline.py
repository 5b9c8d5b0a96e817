"""Home timeline (limit 20): p50 in-process and requests/s through `fedikit serve`.

    .venv/bin/python benchmarks/home_timeline.py [--database sqlite|postgresql] [--redis]
        [--requests 500] [--seconds 15] [--connections 8] [--web-concurrency 2] [--threads 2]

Data: 100,000 statuses from 1,000 accounts, a viewer following 300 of them
(benchmarks/_dataset.py). Targets: p50 < 15 ms in-process, > 300 requests/s.
``--redis`` adds the Redis backends (feeds, jobs, pub/sub, cache: the local
Redis, db 9). The server runs one web process per core by default
(``--web-concurrency 2``): without Redis, its processes share streams and
the rate-limit counters through the data directory (Unix sockets, a SQLite
cache file). The throughput run uses wrk (Debian package ``wrk``) on the same 2 cores as
the server; the rate limits are raised for the run (``RATE_LIMITS``).
"""

from __future__ import annotations

import argparse
import contextlib

from _dataset import Workload
from _measure import QueryCounter, app_for, latencies, seeded, summary, workload_arguments, wrk
from _server import redis_backends, serving

TARGET_P50_MS = 15.0
TARGET_RPS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workload_arguments(parser)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    # One process per core of this 2-core machine; two threads each keep one request ready while the other runs.
    parser.add_argument("--web-concurrency", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--redis", action="store_true", help="Redis feeds, jobs, pub/sub and cache")
    args = parser.parse_args()
    workload = Workload(statuses=args.statuses)

    with contextlib.ExitStack() as stack:
        env, app, token = stack.enter_context(seeded(args.database, workload))
        if args.redis:
            env = stack.enter_context(redis_backends(env))
            app = app_for(env)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        first = client.get("/api/v1/timelines/home?limit=20", headers=headers)
        assert first.status_code == 200 and len(first.json) == 20, (first.status_code, first.text[:200])
        counter = QueryCounter(app)
        with counter.counting():
            client.get("/api/v1/timelines/home?limit=20", headers=headers)
        queries = counter.count
        older = first.json[-1]["id"]
        with counter.counting():
            client.get(f"/api/v1/timelines/home?limit=20&max_id={older}", headers=headers)
        unseen_queries = counter.count  # its statuses not rendered yet: their mentions, tags, media, polls
        with counter.counting():
            client.get(f"/api/v1/timelines/home?limit=20&max_id={older}", headers=headers)
        paged_queries = counter.count

        newest = latencies(lambda: client.get("/api/v1/timelines/home?limit=20", headers=headers), args.requests)
        paged = latencies(
            lambda: client.get(f"/api/v1/timelines/home?limit=20&max_id={older}", headers=headers), args.requests
        )
        p50 = sorted(newest)[len(newest) // 2]
        verdict = "within" if p50 < TARGET_P50_MS else "OVER"
        print(f"in-process, newest page: {summary(newest)}; {queries} SQL queries per request")
        print(
            f"in-process, second page (max_id): {summary(paged)}; {paged_queries} SQL queries per request "
            f"({unseen_queries} the first time: its statuses' renders were not kept yet)"
        )
        print(f"in-process p50 {p50:.2f} ms ({verdict} the {TARGET_P50_MS:.0f} ms target)")

        env = {**env, "WEB_CONCURRENCY": str(args.web_concurrency), "MAX_THREADS": str(args.threads)}
        with serving(env) as (_, port, _):
            url = f"http://127.0.0.1:{port}/api/v1/timelines/home?limit=20"
            wrk(url, token, seconds=2, connections=args.connections)  # warm every worker
            figures = wrk(url, token, seconds=args.seconds, connections=args.connections)
        rps = float(figures["requests_per_second"])
        verdict = "within" if rps > TARGET_RPS else "UNDER"
        print(
            f"fedikit serve ({args.web_concurrency} workers x {args.threads} threads), wrk {args.connections} "
            f"connections for {args.seconds} s: {rps:.0f} requests/s, latency p50 {figures['p50']}, "
            f"p90 {figures['p90']}, p99 {figures['p99']}, non-2xx {figures['non_2xx']} "
            f"({verdict} the {TARGET_RPS:.0f} requests/s target)"
        )
        print(f"CPU ms per request by process: {figures['cpu_ms']}")


if __name__ == "__main__":
    main()
