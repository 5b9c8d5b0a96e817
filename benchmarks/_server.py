"""Shared by the benchmarks: a throw-away instance served by ``fedikit serve`` on a free port."""

from __future__ import annotations

import contextlib
import os
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


@contextlib.contextmanager
def migrated_instance() -> Iterator[dict[str, str]]:
    with tempfile.TemporaryDirectory(prefix="fedikit-bench-") as folder:
        env = instance_env(Path(folder))
        subprocess.run([*fedikit_command(), "db", "upgrade"], env=env, check=True, capture_output=True)
        yield env


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen, int, float]]:
    """Start ``fedikit serve``; yields the process, its port and the seconds to the first 200."""
    port = free_port()
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
