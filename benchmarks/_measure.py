"""Shared by the benchmarks: a workload instance on SQLite or PostgreSQL, query counting, latency figures."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _server import fedikit_command, instance_env
from flask import Flask
from sqlalchemy import event

POSTGRES_ADMIN_URL = os.environ.get("FEDIKIT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# Load tests send thousands of requests a minute from one token and one address.
UNLIMITED = ",".join(f"{rule}=100000000/300" for rule in ("authenticated_api", "per_token_api", "unauthenticated_api"))


@contextlib.contextmanager
def instance(database: str) -> Iterator[dict[str, str]]:
    """Environment of a migrated, empty instance on ``sqlite`` or ``postgresql``; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="fedikit-bench-"))
    env = {**instance_env(folder), "RATE_LIMITS": UNLIMITED}
    name = f"fedikit_bench_{os.getpid()}"
    if database == "postgresql":
        _postgres(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    elif database != "sqlite":
        raise SystemExit(f"unknown database {database!r}: sqlite or postgresql")
    try:
        upgraded = subprocess.run([*fedikit_command(), "db", "upgrade"], env=env, capture_output=True, text=True)
        if upgraded.returncode != 0:
            raise SystemExit(f"fedikit db upgrade failed:\n{upgraded.stderr}")
        yield env
    finally:
        if database == "postgresql":
            _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


def _postgres(statement: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(statement)


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


def wrk(url: str, token: str, *, seconds: int, connections: int, threads: int = 1) -> dict[str, str]:
    """Run wrk against ``url``; its requests/s and latency percentiles."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for the throughput figure: apt-get install wrk")
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
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+(\S+)", text, re.MULTILINE)
        figures[f"p{percentile}"] = match.group(1) if match else "?"
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    figures["non_2xx"] = errors.group(1) if errors else "0"
    return figures
