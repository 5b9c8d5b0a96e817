"""Processes for tests that run the real thing: ``fedikit serve``, ``fedikit worker``, a private Redis server.

Each is started on a free port, waited for until it answers, and stopped by
its PID afterwards (killed if it does not stop in time).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fedikit(*args: str) -> list[str]:
    return [sys.executable, "-m", "fedikit", *args]


def create_person(env: dict[str, str], username: str) -> tuple[str, str]:
    """A confirmed local account made with ``fedikit accounts create``; its e-mail address and password."""
    email = f"{username}@example.com"
    output = subprocess.run(
        fedikit("accounts", "create", username, "--email", email, "--confirmed"),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return email, re.search(r"New password: (\S+)", output).group(1)


def answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            return False

    return check


@contextlib.contextmanager
def running(
    command: Sequence[str],
    env: dict[str, str],
    log_path: Path,
    *,
    ready: Callable[[], bool] | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in the background, its output in ``log_path``; yielded once ``ready()`` is true."""
    log = log_path.open("ab")
    process = subprocess.Popen(list(command), env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        while ready is not None and not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:4]} did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield process
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class RedisServer:
    """A Redis server of the test's own (no persistence), so that it can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        eventually(self._answers, timeout=10, what="redis-server to answer")

    def _answers(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        """Kill it, as a crash would: everything it held is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[RedisServer]:
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def eventually(check: Callable[[], T], *, timeout: float = 20.0, what: str = "the condition") -> T:
    """Poll ``check`` until it returns something truthy (background work lands a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
