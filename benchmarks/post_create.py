"""Post creation: p50 of `POST /api/v1/statuses`, sequential, with the background work done in jobs.

    .venv/bin/python benchmarks/post_create.py [--database sqlite|postgresql] [--posts 300]

Data: the timeline workload (benchmarks/_dataset.py: 100,000 statuses, 1,000
accounts); the poster is the viewer, and every other post carries a hashtag
and a mention. Each post is timed alone: the jobs it queued (indexing,
notifications, fan-out when feeds are precomputed) are drained before the next
one, and their time is reported apart. Target: p50 < 10 ms.
"""

from __future__ import annotations

import argparse
import time

from _dataset import Workload
from _measure import QueryCounter, seeded, summary, workload_arguments

TARGET_P50_MS = 10.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    workload_arguments(parser)
    parser.add_argument("--posts", type=int, default=300)
    args = parser.parse_args()
    workload = Workload(statuses=args.statuses)

    with seeded(args.database, workload) as (_, app, token):
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        queue = app.extensions["fedikit"].queue
        counter = QueryCounter(app)

        def post(n: int) -> float:
            text = f"Benchmark post {n}" + (f" about #topic{n % 7} for @user{n % 50}" if n % 2 else "")
            started = time.perf_counter()
            response = client.post("/api/v1/statuses", data={"status": text}, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text
            return elapsed

        for n in range(20):  # warm-up
            post(n)
            queue.drain(30)
        with counter.counting():
            post(1)
        queries_tagged = counter.count
        queue.drain(30)
        with counter.counting():
            post(2)
        queries_plain = counter.count
        queue.drain(30)

        requests, background = [], []
        for n in range(args.posts):
            requests.append(post(n))
            started = time.perf_counter()
            queue.drain(30)
            background.append((time.perf_counter() - started) * 1000)
        p50 = sorted(requests)[len(requests) // 2]
        verdict = "within" if p50 < TARGET_P50_MS else "OVER"
        print(f"POST /api/v1/statuses: {summary(requests)}")
        print(f"  plain posts: {summary(requests[0::2])}")
        print(f"  with a hashtag and a mention: {summary(requests[1::2])}")
        print(f"SQL queries per request: {queries_plain} plain, {queries_tagged} with a hashtag and a mention")
        print(f"jobs after each post (not in the request): {summary(background)}")
        print(f"post creation p50 {p50:.2f} ms ({verdict} the {TARGET_P50_MS:.0f} ms target)")


if __name__ == "__main__":
    main()
