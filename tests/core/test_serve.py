"""``fedikit serve`` runs a real gunicorn server that answers /health."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fedikit(*args: str, env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fedikit", *args], env=env, capture_output=True, text=True, **kwargs)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty.env").write_text("")
    return {
        **os.environ,
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_ENV_FILE": str(tmp_path / "empty.env"),
        "SECRET_KEY_BASE": "serve-test",
    }


def test_serve_answers_health_over_http_and_logs_each_request(env: dict[str, str]) -> None:
    assert fedikit("db", "upgrade", env=env).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fedikit", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert (response.status, response.read()) == (200, b"OK")
                    assert response.headers["Server"].startswith("gunicorn")
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        streaming = f"http://127.0.0.1:{port}/api/v1/streaming/health?access_token=very-secret&x=1"
        with urllib.request.urlopen(urllib.request.Request(streaming, headers={"User-Agent": "probe/1"})) as response:
            assert response.status == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=20)[0]
    assert "feeds backend: sql (plugin sql_feeds; embedded default)" in output
    assert "gthread" in output
    # the combined log format and the time taken; an access token in the query never reaches the log
    assert '"GET /health HTTP/1.1" 200 2 "-" "Python-urllib/' in output
    assert '"GET /api/v1/streaming/health?access_token=[FILTERED]&x=1 HTTP/1.1" 200 ' in output
    assert '"probe/1"' in output
    assert "very-secret" not in output
    line = next(line for line in output.splitlines() if "GET /health" in line)
    assert line.startswith("127.0.0.1 - - [") and line.endswith("ms")


def test_serve_refuses_an_unmigrated_database(env: dict[str, str]) -> None:
    result = fedikit("serve", "--port", str(free_port()), env=env, timeout=30)
    assert result.returncode == 1
    assert "run `fedikit db upgrade` first" in result.stderr


def test_serve_refuses_a_broken_config(env: dict[str, str]) -> None:
    result = fedikit("serve", env={**env, "QUEUE_BACKEND": "nosuch"}, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: QUEUE_BACKEND=nosuch")


def test_serve_tls_with_a_self_signed_certificate(env: dict[str, str]) -> None:
    import ssl

    assert fedikit("db", "upgrade", env=env).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "fedikit", "serve", "--tls", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", timeout=2, context=context) as response:
                    assert response.read() == b"OK"
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.1)
        certificate = ssl.get_server_certificate(("127.0.0.1", port))
        assert "BEGIN CERTIFICATE" in certificate
        cert_file = Path(env["FEDIKIT_DATA_DIR"]) / "tls" / "self-signed.crt"
        assert cert_file.read_text().strip() == certificate.strip()  # made once, kept for the next start
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_request_slots_bound_api_requests_but_not_streams() -> None:
    """``MAX_THREADS`` requests at once per process; open streams take threads of their own."""
    import threading

    from fedikit.core.cli.serve import RequestSlots

    running, most, lock = 0, 0, threading.Lock()
    release = threading.Event()

    def app(environ: dict, start_response: object) -> list[bytes]:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(5)
        with lock:
            running -= 1
        return [b"ok"]

    slots = RequestSlots(app, 2)

    def call(path: str) -> None:
        body = slots({"PATH_INFO": path}, lambda *a: None)
        list(body)
        if hasattr(body, "close"):
            body.close()  # what the server does once the body is sent: the slot is free again

    api = [threading.Thread(target=call, args=("/api/v1/timelines/home",)) for _ in range(5)]
    streams = [threading.Thread(target=call, args=("/api/v1/streaming/user",)) for _ in range(3)]
    for thread in api + streams:
        thread.start()
    time.sleep(0.3)
    assert most == 2 + 3  # two API requests and every stream
    release.set()
    for thread in api + streams:
        thread.join(5)
    assert running == 0 and slots.slots.acquire(blocking=False) and slots.slots.acquire(blocking=False)
