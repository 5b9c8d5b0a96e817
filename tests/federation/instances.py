"""Real fedikit instances for federation tests: ``fedikit serve`` processes talking over loopback.

Each instance has its own data folder (SQLite, media) and port, and is
configured as a local test network needs it: ``LOCAL_HTTPS=false`` (http ids)
and ``ALLOWED_PRIVATE_ADDRESSES=127.0.0.0/8`` (the fetcher may reach
loopback). People are created with the CLI and use the instance through
Mastodon.py, as they would through an app.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from processes import free_port

mastodon = pytest.importorskip("mastodon")

SCOPES = ["read", "write", "follow"]


class Instance:
    def __init__(self, folder: Path, port: int, env: dict[str, str]) -> None:
        self.folder = folder
        self.port = port
        self.env = env
        self.domain = f"127.0.0.1:{port}"
        self.base_url = f"http://{self.domain}"
        self.log_path = folder / "server.log"

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fedikit", *args], env=self.env, capture_output=True, text=True, check=True
        )
        return result.stdout

    def person(self, username: str, *, locked: bool = False) -> Any:
        """A new confirmed user, signed in through Mastodon.py."""
        email = f"{username}@example.com"
        output = self.cli("accounts", "create", username, "--email", email, "--confirmed")
        password = re.search(r"New password: (\S+)", output).group(1)
        client_id, client_secret = mastodon.Mastodon.create_app(
            "federation tests", scopes=SCOPES, api_base_url=self.base_url
        )
        api = mastodon.Mastodon(
            client_id=client_id, client_secret=client_secret, api_base_url=self.base_url, ratelimit_method="throw"
        )
        api.log_in(email, password, scopes=SCOPES, allow_http=True)
        if locked:
            api.account_update_credentials(locked=True)
        api.handle = f"{username}@{self.domain}"
        return api

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running(folder: Path, **settings: str) -> Iterator[Instance]:
    """One instance on a free port, stopped (by PID) afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.env").write_text("")
    port = free_port()
    env = {
        **os.environ,
        "FEDIKIT_DATA_DIR": str(folder / "data"),
        "FEDIKIT_ENV_FILE": str(folder / "empty.env"),
        "LOCAL_DOMAIN": f"127.0.0.1:{port}",
        "LOCAL_HTTPS": "false",
        "ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8",
        "SECRET_KEY_BASE": f"federation-test-{port}",
        "RATE_LIMITS": "sign_in_ip=1000/300,sign_in_login=1000/3600",
        **settings,
    }
    env.pop("DATABASE_URL", None)
    instance = Instance(folder, port, env)
    subprocess.run([sys.executable, "-m", "fedikit", "db", "upgrade"], env=env, check=True, capture_output=True)
    log = instance.log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "fedikit", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(f"{instance.base_url}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"instance did not start:\n{instance.log()}") from None
                time.sleep(0.1)
        yield instance
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
