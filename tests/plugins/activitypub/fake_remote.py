"""A fake remote server on loopback with people who sign, for the ActivityPub plugin's tests.

:class:`FakeRemote` serves actor documents for ``bob`` and
``carol``, whose key pairs it made, and records what is POSTed to it. The
app must be allowed to reach loopback: ``ALLOWED_PRIVATE_ADDRESSES=127.0.0.0/8``
and ``LOCAL_HTTPS=false`` (see ``FEDERATING``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fedikit.plugins.activitypub.signatures import generate_key_pair

AP = "application/activity+json"
FEDERATING = {"ALLOWED_PRIVATE_ADDRESSES": "127.0.0.0/8", "LOCAL_HTTPS": "false"}


@dataclass(frozen=True)
class Remote:
    """One remote person on the fake server, with the key pair it signs with."""

    uri: str
    private_pem: str
    public_pem: str

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.uri}/inbox"

    def document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.uri.rsplit("/", 1)[1],
            "inbox": self.inbox,
            "followers": f"{self.uri}/followers",
            "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": self.public_pem},
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeRemote

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.fetched.append(self.path)
        document = self.server.documents.get(self.path)
        stored = self.server.files.get(self.path)
        if document is not None:
            self._send(200, AP, json.dumps(document).encode())
        elif stored is not None:
            self._send(200, *stored)
        else:
            self._send(404, "text/plain", b"not found")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.posted.append((self.path, json.loads(body)))
        self._send(202, "text/plain", b"")


class FakeRemote(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.documents: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # path -> (content type, body): images and the like
        self.fetched: list[str] = []  # the paths GET asked for
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.people: dict[str, Remote] = {}
        self.lock = threading.Lock()

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def person(self, name: str) -> Remote:
        private_pem, public_pem = generate_key_pair()
        remote = Remote(f"{self.origin}/users/{name}", private_pem, public_pem)
        self.documents[f"/users/{name}"] = remote.document()
        self.people[name] = remote
        return remote

    def received(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [activity for where, activity in self.posted if where == path]
