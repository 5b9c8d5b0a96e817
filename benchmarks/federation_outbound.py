"""Outbound federation: deliveries per second of one post to 1,000 distinct remote inboxes.

    .venv/bin/python benchmarks/federation_outbound.py [--database sqlite|postgresql]
        [--inboxes 1000] [--hosts 1000] [--job-workers 2] [--rq-workers N]

Data: an empty migrated instance with one local sender (its key pair made
before timing), an in-process app (``create_app``) with the inline job queue
(``--job-workers`` threads), and a sink in a separate process that answers
``202`` to every POST and counts them. The ``--inboxes`` inbox URLs are
distinct (``/users/u<n>/inbox``) and spread over ``--hosts`` loopback
addresses (127.1.x.y, one listening socket each; ``--hosts 1`` puts them all
on 127.0.0.1, so connections are shared as they are for one big server).
Figures: (a) ``delivery.send`` of one Create to all inboxes, timed until the
sink has counted every POST (batches of 50 run as ``activitypub.deliver``
jobs, each posting 8 at a time, signed per inbox); (b) the same work as
``delivery.deliver`` called batch after batch in this thread (one job at a
time). ``--rq-workers N``: (a) runs on the production job queue instead (RQ on
the local Redis, db 9), the jobs taken by N ``fedikit worker`` processes, as a
production instance delivers. Target: >= 1,000 deliveries/s. Sink and
sender share the 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import time
from typing import Any

from _measure import app_for
from _server import free_port, job_workers, migrated_instance, redis_backends

TARGET_PER_SECOND = 1000.0
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def host(n: int, hosts: int) -> str:
    k = n % hosts
    return "127.0.0.1" if hosts == 1 else f"127.1.{k // 250}.{k % 250 + 1}"


def sink(addresses: list[str], port: int, count: Any, ready: Any, paths: Any) -> None:
    """Answer 202 to every POST on every address; count them (and, on request, report the distinct paths)."""
    seen: set[tuple[str, str]] = set()

    class Inbox(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.local = transport.get_extra_info("sockname")[0]
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end].decode("latin-1").split("\r\n")
                length = 0
                for line in head[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                if len(self.buffer) < end + 4 + length:
                    return
                self.buffer = self.buffer[end + 4 + length :]
                seen.add((self.local, head[0].split(" ")[1]))
                with count.get_lock():
                    count.value += 1
                self.transport.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for address in addresses:
            await loop.create_server(Inbox, address, port, backlog=512)
        ready.set()
        while True:
            await asyncio.sleep(0.05)
            if paths.poll():
                paths.recv()
                paths.send(len(seen))
                seen.clear()

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--inboxes", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=1000, help="distinct loopback addresses the inboxes are on")
    parser.add_argument("--job-workers", type=int, default=2, help="inline queue threads (JOB_WORKERS)")
    parser.add_argument("--rq-workers", type=int, default=0, help="RQ on Redis and this many `fedikit worker`s")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    hosts = max(1, min(args.hosts, args.inboxes))

    port = free_port()
    context = multiprocessing.get_context("fork")
    count = context.Value("l", 0)
    ready = context.Event()
    ours, theirs = context.Pipe()
    addresses = sorted({"127.0.0.1"} | {host(n, hosts) for n in range(args.inboxes)})  # 127.0.0.1: the warm-up
    process = context.Process(target=sink, args=(addresses, port, count, ready, theirs), daemon=True)
    process.start()
    if not ready.wait(30):
        raise SystemExit("the sink did not start")
    inboxes = [f"http://{host(n, hosts)}:{port}/users/u{n}/inbox" for n in range(args.inboxes)]

    def distinct() -> int:
        ours.send("paths")
        return ours.recv()

    def wait_for(total: int, since: float) -> float | None:
        while count.value < total:
            if time.perf_counter() - since > args.timeout:
                return None
            time.sleep(0.001)
        return time.perf_counter() - since

    try:
        with contextlib.ExitStack() as stack:
            env = stack.enter_context(migrated_instance(args.database))
            if args.rq_workers:
                env = stack.enter_context(redis_backends(env))
            env = {
                **env,
                "LOCAL_DOMAIN": "bench.example",
                "LOCAL_HTTPS": "false",
                "ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8",
                "JOB_WORKERS": str(args.job_workers),
            }
            app = app_for(env)
            stack.enter_context(job_workers(env, args.rq_workers))
            with app.app_context():
                from fedikit.core.db import db
                from fedikit.core.services.accounts import create_local_account
                from fedikit.plugins.activitypub import delivery
                from fedikit.plugins.activitypub.keys import ensure_keys

                sender = create_local_account("sender", "sender@bench.example", "benchmark-password").account
                db.session.commit()
                ensure_keys(sender)
                note = f"{sender.uri}/statuses/1"
                activity = {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": f"{note}/activity",
                    "type": "Create",
                    "actor": sender.uri,
                    "to": [PUBLIC],
                    "cc": [f"{sender.uri}/followers"],
                    "object": {
                        "id": note,
                        "type": "Note",
                        "attributedTo": sender.uri,
                        "to": [PUBLIC],
                        "cc": [f"{sender.uri}/followers"],
                        "content": "<p>One post, a thousand inboxes.</p>",
                    },
                }
                print(
                    f"data: 1 Create ({len(json.dumps(activity))} byte body) to {args.inboxes} distinct inboxes on "
                    f"{hosts} loopback host(s), sender on {args.database}"
                )

                # Warm up: the queue's threads, the fetcher, the parsed private key.
                delivery.send(activity, [f"http://127.0.0.1:{port}/warmup"], sender)
                if wait_for(1, time.perf_counter()) is None:
                    raise SystemExit("the warm-up delivery never reached the sink")
                distinct()

                count.value = 0
                began = time.perf_counter()
                jobs = delivery.send(activity, inboxes, sender)
                queued = wait_for(args.inboxes, began)
                queued_paths = distinct()
                time.sleep(0.2)
                extra = count.value - args.inboxes

                count.value = 0
                began = time.perf_counter()
                for start in range(0, len(inboxes), delivery.BATCH_SIZE):
                    delivery.deliver(activity, inboxes[start : start + delivery.BATCH_SIZE], sender.id)
                direct = wait_for(args.inboxes, began)
                direct_paths = distinct()
    finally:
        process.terminate()
        process.join(5)

    runners = (
        f"{args.rq_workers} `fedikit worker` processes (RQ)" if args.rq_workers else f"{args.job_workers} job workers"
    )
    for label, seconds, paths in (
        (f"send() -> {jobs} deliver jobs on {runners}", queued, queued_paths),
        ("deliver() batch after batch, in this thread", direct, direct_paths),
    ):
        if seconds is None:
            print(f"{label}: not every inbox was reached within {args.timeout:.0f} s (UNDER the target)")
            continue
        rate = args.inboxes / seconds
        verdict = "within" if rate >= TARGET_PER_SECOND else "UNDER"
        print(
            f"{label}: {args.inboxes} deliveries ({paths} distinct inboxes) in {seconds:.2f} s = {rate:.0f}/s "
            f"({verdict} the {TARGET_PER_SECOND:.0f}/s target)"
        )
    if extra:
        print(f"note: the sink counted {extra} POST(s) more than there were inboxes")


if __name__ == "__main__":
    main()
