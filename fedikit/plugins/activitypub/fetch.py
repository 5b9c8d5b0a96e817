"""The one outbound HTTP client for everything remote: actors, objects, media, WebFinger, deliveries.

:class:`RemoteFetcher` holds one shared :class:`httpx.Client` (connections are
reused per host) and applies Mastodon's rules from ``app/lib/request.rb`` to
every request:

- **SSRF guard.** Each new connection resolves its host with
  :func:`socket.getaddrinfo` and is refused (:class:`BlockedAddress`) if *any*
  address is loopback, private, link-local, multicast, reserved, unspecified,
  in shared address space (100.64/10), a cloud metadata address, or an IPv6
  address embedding one of those (IPv4-mapped, 6to4, NAT64), unless it is inside
  ``allowed_private`` (Mastodon's ``ALLOWED_PRIVATE_ADDRESSES``). The socket is
  then opened to a vetted address, never to the name again, so DNS rebinding
  between check and connect is impossible (see :class:`_VettedBackend`).
- **Redirects** are followed by hand, at most ``max_redirects`` (5); every hop
  has its scheme checked and its host resolved and vetted when it is connected.
- **Timeouts**: connect 10 s, read 10 s per read, and a total deadline (30 s)
  over the whole exchange, headers and streamed body included, so a server
  that trickles one byte at a time is cut off (CVE-2023-36461).
- **Body caps**: 1 MB for JSON by default, per-call for media. A declared
  ``Content-Length`` over the cap is refused before the body is read; otherwise
  reading stops as soon as the cap is passed (:class:`TooLarge`).
- **Content types** for ActivityPub documents: only ``application/activity+json``
  or ``application/ld+json; profile="https://www.w3.org/ns/activitystreams"``
  (CVE-2024-23832); ``application/json`` only when the caller says so
  or WebFinger's ``application/jrd+json`` only when the caller says so (WebFinger, NodeInfo).

``sign`` is called for every hop with ``(method, url, headers, body)`` and
returns the headers to send, because a redirect changes the signed
``(request-target)``; pass a closure over :func:`.signatures.sign_request`.
"""

from __future__ import annotations

import http.cookiejar
import itertools
import json
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from email.message import Message
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, NamedTuple

import httpcore
import httpx

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
Signer = Callable[[str, str, Mapping[str, str], bytes | None], Mapping[str, str]]

ACTIVITYPUB_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACTIVITYSTREAMS_PROFILE = "https://www.w3.org/ns/activitystreams"
DEFAULT_MAX_JSON_BYTES = 1024 * 1024
# Enough to read a delivery's error page so the connection can be reused.
_MAX_POST_RESPONSE_BYTES = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_SHARED_ADDRESS_SPACE = ip_network("100.64.0.0/10")
_NAT64 = ip_network("64:ff9b::/96")
_METADATA_ADDRESSES = frozenset({ip_address("169.254.169.254"), ip_address("fd00:ec2::254")})


class FetchError(Exception):
    """A remote fetch or delivery failed; the message says why."""


class BlockedAddress(FetchError):
    """The host resolves to an address the SSRF guard refuses, or the URL's scheme is not allowed."""


class TooLarge(FetchError):
    """The response body is over the cap."""


class BadContentType(FetchError):
    """The response is not of a content type the caller accepts."""


class TooManyRedirects(FetchError):
    """More redirects than ``max_redirects``."""


class Timeout(FetchError):
    """A connect, read or write timed out, or the total deadline passed."""


class BadStatus(FetchError):
    """The server answered with a status other than 2xx (``status_code`` says which; 410 means gone)."""

    def __init__(self, url: str, status_code: int) -> None:
        super().__init__(f"{url} answered HTTP {status_code}")
        self.url = url
        self.status_code = status_code


class BadDocument(FetchError):
    """The body is not a JSON object."""


class RemoteBytes(NamedTuple):
    url: str
    content_type: str
    body: bytes


# --- address classification -------------------------------------------------


def _embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_blocked_address(address: IPAddress) -> bool:
    """Whether the SSRF guard refuses ``address`` (ignoring any allow-list)."""
    if isinstance(address, IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            # ::ffff:127.0.0.1 reaches loopback; judge the IPv4 address it stands for.
            return is_blocked_address(embedded)
    return (
        address in _METADATA_ADDRESSES
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, IPv4Address) and address in _SHARED_ADDRESS_SPACE)
    )


def is_allowed_address(address: IPAddress, allowed_private: Iterable[IPNetwork] = ()) -> bool:
    """Whether a connection to ``address`` may be opened: public, or inside ``allowed_private``."""
    candidates = [address]
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        candidates.append(address.ipv4_mapped)
    if any(candidate in network for candidate in candidates for network in allowed_private):
        return True
    return not is_blocked_address(address)


def resolve_vetted(host: str, port: int, allowed_private: Iterable[IPNetwork] = ()) -> list[str]:
    """Resolve ``host`` and return its addresses, or raise :class:`BlockedAddress` if any is refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host!r}: {exc}") from exc
    allowed = list(allowed_private)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        text = str(sockaddr[0])
        if text in addresses:
            continue
        if not is_allowed_address(ip_address(text.split("%")[0]), allowed):
            raise BlockedAddress(f"{host} resolves to {text}, which is not a public address")
        addresses.append(text)
    if not addresses:
        raise FetchError(f"cannot resolve {host!r}: no addresses")
    return addresses


# --- content types ------------------------------------------------------------


def is_activitypub_content_type(value: str, *, allow_plain_json: bool = False) -> bool:
    """Mastodon's test: ``application/activity+json``, or ``ld+json`` whose profile lists ActivityStreams."""
    message = Message()
    message["Content-Type"] = value
    media_type = message.get_content_type()
    if media_type == "application/activity+json":
        return True
    if media_type == "application/ld+json":
        profile = message.get_param("profile")
        return isinstance(profile, str) and ACTIVITYSTREAMS_PROFILE in profile.split()
    return allow_plain_json and media_type in ("application/json", "application/jrd+json")


# --- transport: connect only to vetted addresses, under a deadline ---------------

# The deadline (time.monotonic()) of the exchange running in this thread/context.
# It lives in a context variable because httpcore calls the network streams below,
# not our code, and a pooled connection outlives any one request.
_deadline: ContextVar[float | None] = ContextVar("fedikit_fetch_deadline", default=None)


def _bounded(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise expired("total deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write ends by the exchange's total deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _VettedBackend(httpcore.SyncBackend):
    """httpcore's socket layer, with the SSRF guard at the one place a socket is opened.

    Why here and not by rewriting the URL to the IP: httpcore asks its network
    backend for ``connect_tcp(host, port)`` with the *hostname* and then does TLS
    itself with ``server_hostname=host``. Resolving and vetting inside
    ``connect_tcp`` and opening the socket to the vetted IP literal means:
    no second DNS lookup (nothing to rebind), SNI and certificate verification
    against the hostname, ``Host`` taken from the URL as usual, and pooled
    connections keyed by hostname. The alternative (URL pointing at the IP plus
    a ``Host`` header and ``extensions={"sni_hostname": host}``) works for one
    request but pools by IP, so a connection verified for one hostname would be
    reused, with the wrong SNI, for another hostname on the same address.
    """

    def __init__(self, allowed_private: Sequence[IPNetwork]) -> None:
        self._allowed_private = allowed_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        options = list(socket_options or ())
        last_error: Exception | None = None
        for address in resolve_vetted(host, port, self._allowed_private):
            try:
                stream = super().connect_tcp(
                    address, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream)
        assert last_error is not None
        raise last_error


_HTTPCORE_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
    httpcore.ConnectionNotAvailable,
)


@contextmanager
def _translated_errors(url: Any) -> Iterator[None]:
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise Timeout(f"{url}: {exc or type(exc).__name__}") from exc
    except _HTTPCORE_ERRORS as exc:
        raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from exc


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], url: Any) -> None:
        self._stream = stream
        self._url = url

    def __iter__(self) -> Iterator[bytes]:
        with _translated_errors(self._url):
            yield from self._stream

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


class _VettedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore pools that connect through :class:`_VettedBackend`, one pool per
    server (scheme, host, port), as Mastodon keeps its connections.

    One pool for every server scans all its connections on each request (httpcore's pool is built for a
    few hosts): a post delivered to a thousand servers spent a third of its time there, under one lock
    shared by every delivery thread. Pools of servers not used lately are closed, the least recently
    used first, once more than ``KEPT_SERVERS`` are open (a pool with a request under way is kept).

    httpx's own ``HTTPTransport`` does the same request/response mapping but
    offers no public way to choose the network backend.
    """

    CONNECTIONS_PER_SERVER = 8
    KEEPALIVE_PER_SERVER = 4
    KEEPALIVE_SECONDS = 5.0
    KEPT_SERVERS = 256

    def __init__(self, allowed_private: Sequence[IPNetwork], verify: ssl.SSLContext | bool) -> None:
        self._ssl_context = httpx.create_ssl_context(verify=verify)
        self._backend = _VettedBackend(allowed_private)
        self._pools: OrderedDict[tuple[bytes, bytes, int | None], httpcore.ConnectionPool] = OrderedDict()
        self._lock = threading.Lock()

    def _pool(self, url: httpx.URL) -> httpcore.ConnectionPool:
        server = (url.raw_scheme, url.raw_host, url.port)
        retired = []
        with self._lock:
            pool = self._pools.get(server)
            if pool is None:
                pool = self._pools[server] = httpcore.ConnectionPool(
                    ssl_context=self._ssl_context,
                    max_connections=self.CONNECTIONS_PER_SERVER,
                    max_keepalive_connections=self.KEEPALIVE_PER_SERVER,
                    keepalive_expiry=self.KEEPALIVE_SECONDS,
                    network_backend=self._backend,
                )
            self._pools.move_to_end(server)
            excess = len(self._pools) - self.KEPT_SERVERS
            if excess > 0:  # only the oldest few are looked at (this runs under the lock, once per request)
                for key in list(itertools.islice(self._pools, excess)):
                    if all(connection.is_idle() for connection in self._pools[key].connections):
                        retired.append(self._pools.pop(key))
        for old in retired:
            old.close()
        return pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _translated_errors(request.url):
            response = self._pool(request.url).handle_request(core_request)
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream, request.url),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


class _NoCookies(http.cookiejar.CookiePolicy):
    """Remote servers' cookies are neither kept nor sent back: federation has no sessions, and a jar shared
    by every request would grow with each server that sets one."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Any) -> bool:
        return False

    def path_return_ok(self, path: str, request: Any) -> bool:
        return False


# --- the fetcher ----------------------------------------------------------------


class RemoteFetcher:
    """Fetch and deliver to remote servers safely; one per process, shared by threads."""

    def __init__(
        self,
        *,
        user_agent: str,
        allowed_private: Sequence[IPNetwork] = (),
        allow_http: bool = False,
        connect_timeout: float = 10.0,
        read_timeout: float = 10.0,
        total_timeout: float = 30.0,
        max_json_bytes: int = DEFAULT_MAX_JSON_BYTES,
        max_redirects: int = 5,
        sign: Signer | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.allow_http = allow_http
        self.total_timeout = total_timeout
        self.max_json_bytes = max_json_bytes
        self.max_redirects = max_redirects
        self._sign = sign
        self._client = httpx.Client(
            transport=_VettedTransport(list(allowed_private), verify),
            timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout),
            follow_redirects=False,
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            trust_env=False,  # no proxies or .netrc from the environment
            # Uncompressed bodies, so the cap counts the bytes that cross the wire.
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RemoteFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_json(
        self,
        url: str,
        *,
        accept: str = ACTIVITYPUB_ACCEPT,
        headers: Mapping[str, str] | None = None,
        allow_plain_json: bool = False,
        max_bytes: int | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """GET an ActivityPub (or, with ``allow_plain_json``, plain JSON) object.

        Returns ``(final_url, document)``; the final URL is the one after
        redirects, so callers can require ``document["id"] == final_url``.
        """
        with self._exchange("GET", url, {"Accept": accept, **(headers or {})}) as response:
            final_url = str(response.url)
            content_type = response.headers.get("Content-Type", "")
            if not is_activitypub_content_type(content_type, allow_plain_json=allow_plain_json):
                raise BadContentType(f"{final_url}: content type {content_type!r} is not ActivityPub JSON")
            body = _read_capped(response, self.max_json_bytes if max_bytes is None else max_bytes)
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise BadDocument(f"{final_url}: invalid JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise BadDocument(f"{final_url}: expected a JSON object, got {type(document).__name__}")
        return final_url, document

    def get_bytes(
        self, url: str, max_bytes: int, *, accept: str = "*/*", headers: Mapping[str, str] | None = None
    ) -> RemoteBytes:
        """GET a body of at most ``max_bytes`` (media, previews); the caller checks the content type."""
        with self._exchange("GET", url, {"Accept": accept, **(headers or {})}) as response:
            body = _read_capped(response, max_bytes)
            return RemoteBytes(str(response.url), response.headers.get("Content-Type", ""), body)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """POST ``body`` (a delivery) and return the status code; redirects are not followed."""
        with self._exchange("POST", url, dict(headers), body, follow_redirects=False) as response:
            # Drain a short answer so the connection goes back to the pool.
            received = 0
            for chunk in response.iter_raw():
                received += len(chunk)
                if received > _MAX_POST_RESPONSE_BYTES:
                    break
            return response.status_code

    @contextmanager
    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None = None,
        *,
        follow_redirects: bool = True,
    ) -> Iterator[httpx.Response]:
        """Send the request, follow redirects, and yield the final response (2xx only) with its body unread."""
        token = _deadline.set(time.monotonic() + self.total_timeout)
        try:
            current = url
            for _hop in range(self.max_redirects + 1):
                response = self._send(method, current, headers, body)
                location = response.headers.get("Location")
                if follow_redirects and response.status_code in _REDIRECT_STATUSES and location:
                    response.close()
                    current = str(response.url.join(location))
                    continue
                try:
                    if method == "GET" and not 200 <= response.status_code < 300:
                        raise BadStatus(current, response.status_code)
                    yield response
                finally:
                    response.close()
                return
            raise TooManyRedirects(f"{url}: more than {self.max_redirects} redirects")
        finally:
            _deadline.reset(token)

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> httpx.Response:
        self._check_url(url)
        if self._sign is not None:
            headers = dict(self._sign(method, url, headers, body))
        try:
            request = self._client.build_request(method, url, headers=headers, content=body)
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url}: {exc}") from exc
        return self._client.send(request, stream=True)

    def _check_url(self, url: str) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FetchError(f"{url}: {exc}") from exc
        allowed = ("https", "http") if self.allow_http else ("https",)
        if parsed.scheme not in allowed:
            raise BlockedAddress(f"{url}: scheme must be {' or '.join(allowed)}")
        if not parsed.host:
            raise FetchError(f"{url}: no host")


def _read_capped(response: httpx.Response, cap: int) -> bytes:
    """Read the body, stopping as soon as it passes ``cap`` bytes."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"{response.url}: Content-Length {declared} is over the {cap}-byte cap")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise FetchError(f"{response.url}: unrequested Content-Encoding {encoding!r}")
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > cap:
            raise TooLarge(f"{response.url}: body is over the {cap}-byte cap")
    return bytes(body)
