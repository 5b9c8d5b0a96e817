"""Streaming: how many open streams one web process holds, its memory, and the delay from a post to its event.

Starts ``fedikit serve`` (one process), opens ``--connections`` server-sent-event
streams of the local timeline (raw sockets, one client thread), then posts
``--posts`` statuses one after another and times, for each, how long until the
first and until the last stream received its ``update`` event. Every stream
loads and renders the status for its own viewer (that is what keeps visibility,
blocks and filters exact), so the delay to the last stream grows with the
number of streams.

    .venv/bin/python benchmarks/streaming.py [--connections 200] [--posts 20] [--redis]

``--redis``: the production backends on the local Redis (pub/sub, feeds, RQ with one ``fedikit worker``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import selectors
import socket
import statistics
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _measure import app_for, bearer_token  # noqa: E402
from _server import job_workers, migrated_instance, redis_backends, serving  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (gunicorn's master and worker), in MB."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            for line in Path(f"/proc/{candidate}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, IndexError):
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class Streams:
    """Many raw SSE connections read by one selector."""

    def __init__(self, port: int, token: str, count: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.buffers: dict[socket.socket, bytes] = {}
        request = (
            f"GET /api/v1/streaming/public/local HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(request)
            sock.setblocking(False)
            self.buffers[sock] = b""
            self.selector.register(sock, selectors.EVENT_READ)
        self.wait_for(b":)", timeout=120)

    def wait_for(self, marker: bytes, timeout: float) -> list[float]:
        """Seconds (from now) until each stream has received ``marker``."""
        started = time.perf_counter()
        pending = {s for s, buffer in self.buffers.items() if marker not in buffer}
        arrivals = [0.0] * (len(self.buffers) - len(pending))
        while pending:
            if time.perf_counter() - started > timeout:
                raise SystemExit(f"{len(pending)} streams did not receive {marker!r} within {timeout}s")
            for key, _ in self.selector.select(timeout=1):
                sock = key.fileobj
                chunk = sock.recv(65536)
                if not chunk:
                    raise SystemExit("the server closed a stream")
                self.buffers[sock] += chunk
                if sock in pending and marker in self.buffers[sock]:
                    pending.discard(sock)
                    arrivals.append(time.perf_counter() - started)
        return arrivals

    def close(self) -> None:
        for sock in self.buffers:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--redis", action="store_true", help="the Redis backends and one `fedikit worker`")
    options = parser.parse_args()

    with contextlib.ExitStack() as stack:
        env = stack.enter_context(migrated_instance(options.database))
        env["STREAMING_MAX_CONNECTIONS"] = str(options.connections + 10)
        if options.redis:
            env = stack.enter_context(redis_backends(env))
        app = app_for(env)
        with app.app_context():
            from fedikit.core.services.accounts import create_local_account

            create_local_account("streamer", "streamer@example.com", "streamer-password", confirmed=True)
        token = bearer_token(app, "streamer@example.com", "streamer-password")
        with serving(env) as (process, port, _), job_workers(env, 1 if options.redis else 0):
            idle = rss_mb(process.pid)
            streams = Streams(port, token, options.connections)
            held = rss_mb(process.pid)
            first, last = [], []
            for n in range(options.posts):
                body = json.dumps({"status": f"streamed post {n}"}).encode()
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/statuses",
                    data=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                )
                started = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    status_id = json.load(response)["id"]
                posted = time.perf_counter() - started
                arrivals = [posted + a for a in streams.wait_for(f'"id":"{status_id}"'.encode(), timeout=120)]
                first.append(min(arrivals) * 1000)
                last.append(max(arrivals) * 1000)
            streams.close()
    backend = "redis" if options.redis else "memory"
    print(f"streams held by one web process: {options.connections} ({backend} pub/sub, {options.database})")
    print(f"memory (master + worker RSS): {idle:.1f} MB idle, {held:.1f} MB with the streams open")
    print(f"  = {(held - idle) * 1024 / options.connections:.0f} KB per open stream")
    print(f"post -> event, first stream: p50 {statistics.median(first):.0f} ms, max {max(first):.0f} ms")
    every = f"p50 {statistics.median(last):.0f} ms, max {max(last):.0f} ms"
    print(f"post -> event, all {options.connections} streams: {every}")


if __name__ == "__main__":
    main()
