"""Shared by the benchmarks: a workload instance on SQLite or PostgreSQL, query counting, latency figures."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

from _dataset import VIEWER_PASSWORD, Workload, seed
from _server import migrated_instance
from flask import Flask
from sqlalchemy import event


def workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every workload benchmark takes: which database, how many statuses."""
    parser.add_argument("--database", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--statuses", type=int, default=Workload.statuses)


@contextlib.contextmanager
def seeded(database: str, workload: Workload) -> Iterator[tuple[dict[str, str], Flask, str]]:
    """An instance holding ``workload``: its environment, an app on it and the viewer's bearer token."""
    with migrated_instance(database) as env:
        app = app_for(env)
        started = time.perf_counter()
        email = seed(app, workload)
        print(f"data: {workload.describe()} on {database} (seeded in {time.perf_counter() - started:.0f} s)")
        yield env, app, bearer_token(app, email, VIEWER_PASSWORD)


def app_for(env: dict[str, str]) -> Flask:
    from fedikit.core.app import create_app

    return create_app(environ=env, env_file=False)


def bearer_token(app: Flask, email: str, password: str) -> str:
    """A ``read write follow`` token, obtained as a client obtains one."""
    client = app.test_client()
    registered = client.post(
        "/api/v1/apps",
        data={"client_name": "benchmark", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"},
    ).json
    answer = client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "username": email,
            "password": password,
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
            "scope": "read write follow",
        },
    )
    assert answer.status_code == 200, answer.text
    return answer.json["access_token"]


class QueryCounter:
    """Counts the SQL statements the app's engine runs while ``counting``."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            from fedikit.core.db import db

            self.engine = db.engine
        self.count = 0
        self.statements: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        self.statements.append(statement)

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        self.count = 0
        self.statements = []
        yield


def latencies(call: Callable[[], Any], runs: int, warmup: int = 20) -> list[float]:
    """Milliseconds per call over ``runs`` calls, after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def summary(timings: list[float]) -> str:
    ordered = sorted(timings)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)]
    return f"p50 {statistics.median(ordered):.2f} ms, p90 {p90:.2f} ms, p99 {p99:.2f} ms (n={len(ordered)})"


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by this machine's processes, summed by command name (from /proc; Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                text = stat.read()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        used[name] = used.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return used


def cpu_share(before: dict[str, float], after: dict[str, float], requests: float) -> str:
    """Milliseconds of CPU per request by command name, the largest first (``requests`` served meanwhile)."""
    spent = {name: after[name] - before.get(name, 0.0) for name in after}
    top = sorted(((ms, name) for name, ms in spent.items() if ms > 0), reverse=True)[:5]
    return ", ".join(f"{name} {seconds * 1000 / requests:.2f}" for seconds, name in top)


def wrk(url: str, token: str, *, seconds: int, connections: int, threads: int = 1) -> dict[str, str]:
    """Run wrk against ``url``; its requests/s and latency percentiles, and the CPU milliseconds each request
    cost by process name (``cpu_ms``: the server's, the database's, wrk's own)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the throughput figure: apt-get install wrk")
    before = cpu_seconds()
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    text = result.stdout
    figures = {"requests_per_second": re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)}
    total = float(re.search(r"(\d+) requests in", text).group(1))
    figures["cpu_ms"] = cpu_share(before, cpu_seconds(), total) if total else "?"
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+(\S+)", text, re.MULTILINE)
        figures[f"p{percentile}"] = match.group(1) if match else "?"
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["non_2xx"] = errors.group(1) if errors else "0"
    return figures
