"""A real S3-compatible server for tests: moto's standalone server in a process of its own.

Tests talk to it over HTTP exactly as to AWS or MinIO (boto3 on one side,
plain httpx for public and presigned URLs on the other); nothing in the
client is stubbed. It keeps its objects in memory, so a restart empties it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

ACCESS_KEY = "fedikit-test-key"
SECRET_KEY = "fedikit-test-secret"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1; started, stopped (by its PID) and restarted on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode} (port {self.port} taken?)")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.endpoint}/moto-api/", timeout=1).status_code < 500:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer on port {self.port} within {timeout}s")

    def stop(self) -> None:
        """Kill the server (as a crash would) and wait until its port is closed."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.kill()
        process.wait(timeout=10)

    def client(self):  # noqa: ANN201 - a boto3 S3 client, for the tests' own look at the bucket
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def config(self, bucket: str, **extra: object) -> dict[str, object]:
        """fedikit settings that store media in ``bucket`` on this server."""
        return {
            "MEDIA_BACKEND": "s3",
            "S3_BUCKET": bucket,
            "S3_REGION": REGION,
            "S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "S3_OPEN_TIMEOUT": "1",
            "S3_READ_TIMEOUT": "2",
            **extra,
        }


@contextlib.contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A started server, stopped (by its PID) afterwards."""
    server = MotoServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def empty_and_delete(client, bucket: str) -> None:  # noqa: ANN001
    """Remove ``bucket`` and everything in it; a server that is gone is fine."""
    with contextlib.suppress(Exception):
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])
        client.delete_bucket(Bucket=bucket)
