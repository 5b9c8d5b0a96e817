"""The remote fetcher against real HTTP servers on loopback, and the SSRF address rules.

Two ``ThreadingHTTPServer``s run for the module, on 127.0.0.1 and 127.0.0.2
(both are loopback on Linux), so redirects between "hosts" and the allow-list
can be exercised for real. Each server counts the body bytes it managed to send
and the client ports it saw.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address, ip_network
from typing import Any

import pytest

from fedikit.plugins.activitypub import fetch
from fedikit.plugins.activitypub.fetch import (
    BadContentType,
    BadDocument,
    BadStatus,
    BlockedAddress,
    RemoteFetcher,
    Timeout,
    TooLarge,
    TooManyRedirects,
    is_activitypub_content_type,
    is_allowed_address,
    is_blocked_address,
)

LOOPBACK = [ip_network("127.0.0.0/8")]
AP = "application/activity+json"
TWO_MB = 2 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, document: Any, content_type: str = AP) -> None:
        self._send(200, content_type, json.dumps(document).encode())

    def _redirect(self, location: str) -> None:
        self._send(302, "text/plain", b"", Location=location)

    def _stream(self, total: int, chunk: int, pause: float, content_length: bool) -> None:
        """Send ``total`` body bytes in chunks, counting what the client did not refuse."""
        self.send_response(200)
        self.send_header("Content-Type", AP)
        if content_length:
            self.send_header("Content-Length", str(total))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for _ in range(0, total, chunk):
                self.wfile.write(b" " * chunk)
                self.server.sent += chunk
                time.sleep(pause)
        except OSError:
            pass

    def do_GET(self) -> None:
        self.server.ports.add(self.client_address[1])
        self.server.hosts.append(self.headers.get("Host", ""))
        self.server.cookies.append(self.headers.get("Cookie"))
        path = self.path
        base = f"http://{self.headers['Host']}"
        if path == "/cookie":
            self._send(200, AP, json.dumps({"id": base + path}).encode(), Set_Cookie="session=tracked; Path=/")
        elif path == "/actor":
            self._json({"id": base + path, "type": "Person"})
        elif path == "/ld":
            self._json({"id": base + path}, 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"')
        elif path == "/plain":
            self._json({"subject": "acct:a@b"}, "application/json; charset=utf-8")
        elif path == "/html":
            self._send(200, "text/html", b"<html>{}</html>")
        elif path == "/array":
            self._json([{"id": "x"}])
        elif path == "/missing":
            self._send(410, "text/plain", b"gone")
        elif path == "/media":
            self._send(200, "image/png", b"\x89PNG" + b"\x00" * 100)
        elif path.startswith("/to/"):  # /to/<host:port>/<path>: a redirect to another server
            self._redirect("http://" + path.removeprefix("/to/"))
        elif path.startswith("/chain/"):  # /chain/N redirects N times, then lands on /actor
            hops = int(path.removeprefix("/chain/"))
            self._redirect(f"/chain/{hops - 1}" if hops > 1 else "/actor")
        elif path == "/loop":
            self._redirect("/loop")
        elif path == "/big":
            self._stream(TWO_MB, 16 * 1024, 0.001, content_length=False)
        elif path == "/big-declared":
            self._stream(TWO_MB, 16 * 1024, 0.001, content_length=True)
        elif path == "/trickle":
            self._stream(1000, 1, 0.05, content_length=True)
        elif path == "/slow-headers":
            self.close_connection = True
            try:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n":
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        else:
            self._send(404, "text/plain", b"not found")

    def do_POST(self) -> None:
        self.server.ports.add(self.client_address[1])
        self.server.posted.append(self.rfile.read(int(self.headers["Content-Length"])))
        self._send(202 if self.path == "/inbox" else 302, "text/plain", b"", Location="/inbox")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sent: int
    ports: set[int]
    hosts: list[str]
    posted: list[bytes]
    cookies: list[str | None]

    def reset(self) -> None:
        self.sent, self.ports, self.hosts, self.posted, self.cookies = 0, set(), [], [], []

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[_Server, _Server]]:
    started = []
    for host in ("127.0.0.1", "127.0.0.2"):
        server = _Server((host, 0), _Handler)
        server.reset()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield started[0], started[1]
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture
def one(servers: tuple[_Server, _Server]) -> _Server:
    """The server on 127.0.0.1, with fresh counters."""
    servers[0].reset()
    return servers[0]


@pytest.fixture
def two(servers: tuple[_Server, _Server]) -> _Server:
    """The server on 127.0.0.2, with fresh counters."""
    servers[1].reset()
    return servers[1]


def _fetcher(allowed_private: list[Any] = LOOPBACK, **options: Any) -> RemoteFetcher:
    return RemoteFetcher(user_agent="fedikit-test", allowed_private=allowed_private, allow_http=True, **options)


@pytest.fixture
def fetcher() -> Iterator[RemoteFetcher]:
    with _fetcher() as client:
        yield client


# --- the SSRF guard -------------------------------------------------------------------


def test_loopback_is_refused_by_default(one: _Server) -> None:
    with _fetcher(allowed_private=[]) as client, pytest.raises(BlockedAddress, match="127.0.0.1"):
        client.get_json(f"http://{one.origin}/actor")
    assert one.hosts == []


def test_loopback_is_fetched_when_allow_listed(fetcher: RemoteFetcher, one: _Server) -> None:
    url = f"http://{one.origin}/actor"
    assert fetcher.get_json(url) == (url, {"id": url, "type": "Person"})


def test_redirect_to_an_address_outside_the_allow_list_is_refused(one: _Server, two: _Server) -> None:
    with _fetcher(allowed_private=[ip_network("127.0.0.2/32")]) as client:
        assert client.get_json(f"http://{two.origin}/actor")[1]["type"] == "Person"
        with pytest.raises(BlockedAddress, match="127.0.0.1"):
            client.get_json(f"http://{two.origin}/to/{one.origin}/actor")
    assert one.hosts == []


def test_connects_to_the_vetted_address_and_keeps_the_hostname(
    fetcher: RemoteFetcher, one: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo
    lookups = []

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real_getaddrinfo("127.0.0.1" if host == "social.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    port = one.server_address[1]
    final_url, document = fetcher.get_json(f"http://social.test:{port}/actor")
    assert (final_url, document["id"]) == (f"http://social.test:{port}/actor",) * 2
    assert one.hosts == [f"social.test:{port}"]
    assert lookups == ["social.test", "127.0.0.1"]  # the socket is opened to the IP literal, not the name


def test_a_host_with_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(BlockedAddress, match="10.0.0.7"):
        fetch.resolve_vetted("mixed.test", 443)


def test_https_is_required_unless_allow_http() -> None:
    with RemoteFetcher(user_agent="t") as client:
        with pytest.raises(BlockedAddress, match="scheme must be https"):
            client.get_json("http://example.com/actor")
        with pytest.raises(BlockedAddress, match="scheme"):
            client.get_json("file:///etc/passwd")
    with _fetcher() as client, pytest.raises(BlockedAddress, match="scheme must be https or http"):
        client.get_json("ftp://example.com/actor")


BLOCKED = [
    "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255",
    "::", "::1", "fe80::1", "fc00::1", "fd00:ec2::254", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:100.64.0.1", "::ffff:0.0.0.0",
    "2002:7f00:1::1", "64:ff9b::a9fe:a9fe",
]  # fmt: skip
PUBLIC = ["8.8.8.8", "93.184.216.34", "100.128.0.1", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert is_blocked_address(ip_address(address))
    assert not is_allowed_address(ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_blocked_address(ip_address(address))
    assert is_allowed_address(ip_address(address))


def test_the_allow_list_admits_its_own_networks_only() -> None:
    allowed = [ip_network("127.0.0.2/32"), ip_network("fd00::/8")]
    assert is_allowed_address(ip_address("127.0.0.2"), allowed)
    assert is_allowed_address(ip_address("::ffff:127.0.0.2"), allowed)
    assert is_allowed_address(ip_address("fd00::5"), allowed)
    assert not is_allowed_address(ip_address("127.0.0.1"), allowed)
    assert not is_allowed_address(ip_address("169.254.169.254"), allowed)


# --- redirects --------------------------------------------------------------------------


def test_the_final_url_after_redirects_is_reported(fetcher: RemoteFetcher, one: _Server, two: _Server) -> None:
    final_url, document = fetcher.get_json(f"http://{one.origin}/to/{two.origin}/actor")
    assert final_url == document["id"] == f"http://{two.origin}/actor"


def test_five_redirects_are_followed_and_six_are_too_many(fetcher: RemoteFetcher, one: _Server) -> None:
    assert fetcher.get_json(f"http://{one.origin}/chain/5")[0] == f"http://{one.origin}/actor"
    with pytest.raises(TooManyRedirects):
        fetcher.get_json(f"http://{one.origin}/chain/6")


def test_a_redirect_loop_stops(fetcher: RemoteFetcher, one: _Server) -> None:
    with pytest.raises(TooManyRedirects):
        fetcher.get_json(f"http://{one.origin}/loop")
    assert len(one.hosts) == 6


# --- bodies, content types, timeouts ---------------------------------------------------


def test_a_2mb_body_is_refused_without_reading_it_all(fetcher: RemoteFetcher, one: _Server) -> None:
    with pytest.raises(TooLarge):
        fetcher.get_json(f"http://{one.origin}/big")
    time.sleep(0.05)  # let the server notice the closed connection
    assert one.sent < 1.5 * 1024 * 1024


def test_a_declared_length_over_the_cap_is_refused_before_the_body(fetcher: RemoteFetcher, one: _Server) -> None:
    with pytest.raises(TooLarge, match="Content-Length"):
        fetcher.get_json(f"http://{one.origin}/big-declared")
    time.sleep(0.05)
    assert one.sent < 1024 * 1024


def test_the_cap_is_per_call(fetcher: RemoteFetcher, one: _Server) -> None:
    with pytest.raises(TooLarge):
        fetcher.get_json(f"http://{one.origin}/actor", max_bytes=10)
    with pytest.raises(TooLarge):
        fetcher.get_bytes(f"http://{one.origin}/media", max_bytes=50)
    media = fetcher.get_bytes(f"http://{one.origin}/media", max_bytes=1000)
    assert (media.content_type, media.body[:4], len(media.body)) == ("image/png", b"\x89PNG", 104)


def test_content_types(fetcher: RemoteFetcher, one: _Server) -> None:
    assert fetcher.get_json(f"http://{one.origin}/ld")[1]["id"].endswith("/ld")
    with pytest.raises(BadContentType, match="text/html"):
        fetcher.get_json(f"http://{one.origin}/html")
    with pytest.raises(BadContentType, match="application/json"):
        fetcher.get_json(f"http://{one.origin}/plain")
    assert fetcher.get_json(f"http://{one.origin}/plain", allow_plain_json=True)[1] == {"subject": "acct:a@b"}


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("application/activity+json", True),
        ("application/activity+json; charset=utf-8", True),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams"', True),
        ('application/ld+json; profile="https://example.com/x https://www.w3.org/ns/activitystreams"', True),
        ("application/ld+json", False),
        ('application/ld+json; profile="https://www.w3.org/ns/activitystreams/other"', False),
        ("application/json", False),
        ("text/html", False),
        ("", False),
    ],
)
def test_activitypub_content_type(value: str, accepted: bool) -> None:
    assert is_activitypub_content_type(value) is accepted


def test_a_json_array_is_refused(fetcher: RemoteFetcher, one: _Server) -> None:
    with pytest.raises(BadDocument, match="JSON object"):
        fetcher.get_json(f"http://{one.origin}/array")


def test_an_error_status_is_reported(fetcher: RemoteFetcher, one: _Server) -> None:
    with pytest.raises(BadStatus) as raised:
        fetcher.get_json(f"http://{one.origin}/missing")
    assert raised.value.status_code == 410


@pytest.mark.parametrize("path", ["/trickle", "/slow-headers"])
def test_a_trickling_server_is_cut_off_at_the_total_deadline(one: _Server, path: str) -> None:
    with _fetcher(total_timeout=0.4) as client:
        started = time.monotonic()
        with pytest.raises(Timeout):
            client.get_json(f"http://{one.origin}{path}")
        assert time.monotonic() - started < 1.0


# --- connection reuse and deliveries ----------------------------------------------------


def test_connections_are_reused(fetcher: RemoteFetcher, one: _Server) -> None:
    for _ in range(3):
        fetcher.get_json(f"http://{one.origin}/actor")
    assert len(one.ports) == 1


def test_each_server_has_its_own_connections_and_idle_ones_are_let_go(
    fetcher: RemoteFetcher, one: _Server, two: _Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections are pooled per server (a post to a thousand servers does not scan one big pool); past
    ``KEPT_SERVERS`` the least recently used server's idle connections are closed."""
    from fedikit.plugins.activitypub.fetch import _VettedTransport

    monkeypatch.setattr(_VettedTransport, "KEPT_SERVERS", 1)
    fetcher.get_json(f"http://{one.origin}/actor")
    fetcher.get_json(f"http://{one.origin}/actor")
    assert len(one.ports) == 1
    fetcher.get_json(f"http://{two.origin}/actor")  # one's pool is the older: closed
    fetcher.get_json(f"http://{one.origin}/actor")
    assert len(one.ports) == 2 and len(two.ports) == 1


def test_remote_cookies_are_neither_kept_nor_sent(fetcher: RemoteFetcher, one: _Server) -> None:
    fetcher.get_json(f"http://{one.origin}/cookie")
    fetcher.get_json(f"http://{one.origin}/actor")
    assert one.cookies == [None, None]


def test_post_returns_the_status_and_does_not_follow_redirects(fetcher: RemoteFetcher, one: _Server) -> None:
    headers = {"Content-Type": AP}
    assert fetcher.post(f"http://{one.origin}/inbox", b'{"type":"Follow"}', headers) == 202
    assert fetcher.post(f"http://{one.origin}/old-inbox", b"{}", headers) == 302
    assert one.posted == [b'{"type":"Follow"}', b"{}"]
    assert len(one.ports) == 1


def test_every_hop_is_signed_for_its_own_url(one: _Server, two: _Server) -> None:
    signed = []

    def sign(method: str, url: str, headers: Any, body: bytes | None) -> dict[str, str]:
        signed.append((method, url))
        return {**headers, "Signature": f"for {url}"}

    with _fetcher(sign=sign) as client:
        client.get_json(f"http://{one.origin}/to/{two.origin}/actor")
    assert signed == [("GET", f"http://{one.origin}/to/{two.origin}/actor"), ("GET", f"http://{two.origin}/actor")]
