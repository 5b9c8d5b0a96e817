"""Memory of the web and worker processes on the production configuration. Target: < 250 MB together.

    .venv/bin/python benchmarks/production_memory.py

PostgreSQL, Redis (feeds, RQ queue, pub/sub) and S3 media on a moto server
started here. Starts `fedikit serve` (master + one worker) and one
`fedikit worker`, has them do real work (sign-in, posts fanned out by the
worker, home timelines, an image upload to S3, a stream), waits, then sums
the processes' PSS (pages shared after the fork counted once) and RSS.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from _measure import app_for, bearer_token
from _server import fedikit_command, free_port, migrated_instance, serving
from idle_memory import children, pss_kb, status_kb

TARGET_MB = 250


def moto(port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the moto server did not start")


def request(port: int, path: str, token: str, body: bytes | None = None, content_type: str = "") -> object:
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    call = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers)
    with urllib.request.urlopen(call, timeout=30) as response:
        return json.load(response)


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            f"Content-Type: image/png\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def main() -> None:
    s3_port = free_port()
    s3 = moto(s3_port)
    try:
        with migrated_instance("postgresql") as env:
            env.update(
                REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
                REDIS_NAMESPACE=f"fedikit-bench-{os.getpid()}",
                S3_ENABLED="true",
                S3_BUCKET="media",
                S3_REGION="us-east-1",
                S3_ENDPOINT=f"http://127.0.0.1:{s3_port}",
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench",
            )
            import boto3

            boto3.client(
                "s3",
                endpoint_url=env["S3_ENDPOINT"],
                region_name="us-east-1",
                aws_access_key_id="bench",
                aws_secret_access_key="bench",
            ).create_bucket(Bucket="media")
            app = app_for(env)
            with app.app_context():
                from fedikit.core.services.accounts import create_local_account

                for name in ("alice", "bob"):
                    create_local_account(name, f"{name}@example.com", f"{name}-password", confirmed=True)
            alice = bearer_token(app, "alice@example.com", "alice-password")
            bob = bearer_token(app, "bob@example.com", "bob-password")
            log = Path(env["FEDIKIT_DATA_DIR"]).parent / "worker.log"
            with log.open("wb") as output:
                worker = subprocess.Popen([*fedikit_command(), "worker"], env=env, stdout=output, stderr=output)
            try:
                with serving(env) as (master, port, _):
                    alice_id = request(port, "/api/v1/accounts/verify_credentials", alice)["id"]
                    request(port, f"/api/v1/accounts/{alice_id}/follow", bob, body=b"")
                    body, kind = multipart(png())
                    media = request(port, "/api/v2/media", alice, body=body, content_type=kind)
                    for n in range(30):
                        fields = {"status": f"post {n}", **({"media_ids": [media["id"]]} if n == 0 else {})}
                        request(port, "/api/v1/statuses", alice, json.dumps(fields).encode(), "application/json")
                    for _ in range(30):
                        request(port, "/api/v1/timelines/home", bob)
                    time.sleep(3)  # the worker fans the posts out
                    home = request(port, "/api/v1/timelines/home", bob)
                    web = children(master.pid)[0]
                    pss = {
                        "web master": pss_kb(master.pid),
                        "web worker": pss_kb(web),
                        "job worker": pss_kb(worker.pid),
                    }
                    rss = {
                        "web master": status_kb(master.pid, "VmRSS"),
                        "web worker": status_kb(web, "VmRSS"),
                        "job worker": status_kb(worker.pid, "VmRSS"),
                    }
            finally:
                worker.terminate()
                worker.wait(timeout=30)
    finally:
        s3.kill()
    print(f"home timeline after the fan-out: {len(home)} statuses (PostgreSQL, Redis feeds/RQ/pub-sub, S3 on moto)")
    for name in pss:
        print(f"{name}: PSS {pss[name] / 1024:.1f} MB, RSS {rss[name] / 1024:.1f} MB")
    total = sum(pss.values()) / 1024
    verdict = "within" if total < TARGET_MB else "OVER"
    print(f"web + worker processes together: {total:.1f} MB PSS ({verdict} the {TARGET_MB} MB target)")


if __name__ == "__main__":
    main()
