"""Shared by the benchmarks: a migrated throw-away instance (SQLite or PostgreSQL), served by ``fedikit serve``."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def instance_env(data_dir: Path) -> dict[str, str]:
    env_file = data_dir / "empty.env"
    data_dir.mkdir(parents=True, exist_ok=True)
    env_file.write_text("")
    return {
        **os.environ,
        "FEDIKIT_DATA_DIR": str(data_dir / "data"),
        "FEDIKIT_ENV_FILE": str(env_file),
        "SECRET_KEY_BASE": "benchmark",
        "FEDIKIT_LOG_LEVEL": "WARNING",
    }


def fedikit_command() -> list[str]:
    return [sys.executable, "-m", "fedikit"]


def wait_for_health(port: int, process: subprocess.Popen, timeout: float = 30) -> float:
    """Seconds until /health first answers 200."""
    started = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - started
        except OSError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"fedikit serve exited with {process.returncode}")
        if time.perf_counter() - started > timeout:
            raise RuntimeError("no answer from /health")
        time.sleep(0.005)


POSTGRES_ADMIN_URL = os.environ.get("FEDIKIT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
# Load tests send thousands of requests a minute from one token and one address.
UNLIMITED = ",".join(f"{rule}=100000000/300" for rule in ("authenticated_api", "per_token_api", "unauthenticated_api"))


@contextlib.contextmanager
def migrated_instance(database: str = "sqlite") -> Iterator[dict[str, str]]:
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


@contextlib.contextmanager
def serving(env: dict[str, str], port: int | None = None) -> Iterator[tuple[subprocess.Popen, int, float]]:
    """Start ``fedikit serve`` (on ``port``, else a free one); yields the process, its port and the seconds to
    the first 200. An instance that federates must be given its port: its LOCAL_DOMAIN names it."""
    port = port or free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [*fedikit_command(), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health(port, process)
        yield process, port, time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def redis_backends(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """``env`` with the Redis backends (feeds, RQ jobs, pub/sub, cache) on the local Redis, db 9, in a
    namespace of this run; its keys are deleted afterwards."""
    import redis

    url = os.environ.get("FEDIKIT_BENCH_REDIS", "redis://127.0.0.1:6379/9")
    namespace = f"fedikit-bench-{os.getpid()}"
    try:
        yield {**env, "REDIS_URL": url, "REDIS_NAMESPACE": namespace}
    finally:
        client = redis.Redis.from_url(url)
        keys = [*client.scan_iter(f"{namespace}:*", count=1000), *client.scan_iter(f"rq:*{namespace}*", count=1000)]
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()


@contextlib.contextmanager
def job_workers(env: dict[str, str], count: int) -> Iterator[list[subprocess.Popen]]:
    """``count`` ``fedikit worker`` processes, stopped afterwards."""
    workers = [
        subprocess.Popen([*fedikit_command(), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
