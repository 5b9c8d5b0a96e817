"""Job throughput of the rq queue: enqueue rate, and run rate with N `fedikit worker` processes.

    .venv/bin/python benchmarks/rq_jobs.py [--workers 2] [--noop-jobs 4000] [--batch-jobs 1000] [--inboxes 50]

Data: an empty migrated SQLite instance on the Redis at REDIS_URL
(default redis://127.0.0.1:6379/9) under a throw-away namespace, with a
benchmark plugin that registers two jobs: ``bench.noop`` (does nothing) and
``bench.deliver`` (carries ``--inboxes`` inbox URLs and groups them by
host, the shape of one delivery batch without the HTTP). Figures, for each
kind: (a) enqueue: jobs/s of ``fedikit.core.jobs.enqueue`` one at a time in
this process (JSON check + one RQ enqueue each); (b) run: the jobs, queued
beforehand, run by ``--workers`` ``fedikit worker --burst`` processes, timed
from the first worker being ready to the last one finding the queues empty
(app start-up excluded). Workers and this process share the machine's cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _measure import app_for
from _server import fedikit_command, migrated_instance

PLUGIN = '''
    """Jobs for benchmarks/rq_jobs.py."""

    from urllib.parse import urlsplit

    from fedikit.plugin_api import hookimpl


    def noop() -> None:
        pass


    def deliver(activity_id: str, inboxes: list) -> None:
        by_host: dict = {}
        for inbox in inboxes:
            by_host.setdefault(urlsplit(inbox).hostname, []).append(inbox)


    @hookimpl
    def register_jobs() -> dict:
        return {"bench.noop": noop, "bench.deliver": deliver}
'''


@contextlib.contextmanager
def rq_instance() -> Iterator[dict[str, str]]:
    """A migrated instance on the rq queue with the benchmark jobs; its Redis keys are removed afterwards."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    namespace = f"fkbench{os.getpid()}"
    with migrated_instance("sqlite") as env, tempfile.TemporaryDirectory(prefix="fedikit-bench-plugins-") as plugins:
        Path(plugins, "rq_bench_jobs.py").write_text(textwrap.dedent(PLUGIN))
        env = {
            **env,
            "REDIS_URL": url,
            "REDIS_NAMESPACE": namespace,
            "QUEUE_BACKEND": "rq",
            "FEEDS_BACKEND": "sql",
            "STREAMING_BACKEND": "memory",
            "FEDIKIT_PLUGINS_DIR": plugins,
        }
        try:
            yield env
        finally:
            client = redis.Redis.from_url(url)
            for pattern in (f"rq:*{namespace}*", f"{namespace}:*"):
                keys = list(client.scan_iter(pattern, count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])
            stale = [key for key in client.smembers("rq:queues") if namespace.encode() in key]
            if stale:
                client.srem("rq:queues", *stale)


def enqueue_all(app: Any, name: str, count: int, args: dict[str, Any]) -> float:
    """Seconds to queue ``count`` jobs, one call each."""
    from fedikit.core.jobs import enqueue

    with app.app_context():
        started = time.perf_counter()
        for _ in range(count):
            enqueue(name, **args)
        return time.perf_counter() - started


def run_workers(env: dict[str, str], workers: int) -> float:
    """Seconds from the first worker being ready (its "serving" line) to the last one leaving empty queues."""
    ready: list[float] = []
    processes = [
        subprocess.Popen(
            [*fedikit_command(), "worker", "--burst"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(workers)
    ]

    def watch(process: subprocess.Popen) -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("fedikit worker: serving"):
                ready.append(time.perf_counter())
            elif "Traceback" in line or "Error" in line:
                print(f"worker: {line.rstrip()}")

    watchers = [threading.Thread(target=watch, args=(p,), daemon=True) for p in processes]
    for watcher in watchers:
        watcher.start()
    for process in processes:
        if process.wait(timeout=1800) != 0:
            raise SystemExit(f"fedikit worker exited with {process.returncode}")
    finished = time.perf_counter()
    for watcher in watchers:
        watcher.join(timeout=5)
    return finished - min(ready)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--noop-jobs", type=int, default=4000)
    parser.add_argument("--batch-jobs", type=int, default=1000)
    parser.add_argument("--inboxes", type=int, default=50)
    args = parser.parse_args()

    with rq_instance() as env:
        app = app_for(env)
        queue = app.extensions["fedikit"].queue
        inboxes = [f"https://host{n % 37}.example/users/u{n}/inbox" for n in range(args.inboxes)]
        batch = {"activity_id": "https://fedikit.test/statuses/1/activity", "inboxes": inboxes}
        kinds = [
            ("no-op job", "bench.noop", args.noop_jobs, {}),
            (f"delivery batch ({args.inboxes} inboxes)", "bench.deliver", args.batch_jobs, batch),
        ]
        print(f"data: rq queue on {env['REDIS_URL']}, {args.workers} `fedikit worker` process(es), SQLite instance")
        for label, name, count, job_args in kinds:
            enqueued = enqueue_all(app, name, count, job_args)
            ran = run_workers(env, args.workers)
            if not queue.drain(5):
                raise SystemExit("jobs are left over after the workers stopped")
            per_inbox = f", {count * args.inboxes / ran:,.0f} inboxes/s" if name == "bench.deliver" else ""
            print(f"{label}: enqueue {count / enqueued:,.0f} jobs/s (one at a time, n={count})")
            print(f"{label}: run {count / ran:,.0f} jobs/s with {args.workers} worker(s){per_inbox} (n={count})")
        app.extensions["fedikit"].close()


if __name__ == "__main__":
    main()
