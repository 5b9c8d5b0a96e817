"""HTTP signatures as Mastodon signs and verifies them, and the RSA keys they use.

Two schemes are spoken:

- **draft-cavage-http-signatures-12** (the ``Signature:`` header), which every
  fediverse server sends. :func:`sign_request` signs as Mastodon does;
  :func:`verify_cavage` verifies with Mastodon's rules (``SignedRequest`` in
  Mastodon's ``app/lib/signed_request.rb``): algorithm ``rsa-sha256`` or
  ``hs2019`` (absent means ``hs2019``), any extra signed headers, the strength
  rules, ``Digest: SHA-256=`` checked against the body, and the time window.
- **RFC 9421 HTTP Message Signatures** (``Signature-Input`` + ``Signature``),
  which Mastodon verifies since 4.4 (on by default since 4.5) and Fedify 2
  sends first. :func:`verify_rfc9421` checks Mastodon's requirements:
  one signature, ``created`` and ``keyid`` present, ``@method`` and
  ``@target-uri`` covered, ``Content-Digest`` (RFC 9530, ``sha-256``) covered
  and checked when there is a body, algorithm ``rsa-v1_5-sha256`` only.
  :func:`sign_rfc9421` exists for tests and for a future "double knock".

Verifiers take ``public_key_lookup(key_id)`` and return the keyId that
verified, or raise :class:`SignatureError`. A failure that a fresh copy of the
key could cure raises the subclass :class:`KeyMismatchError`; re-fetching is
the caller's job, and :func:`verify` does it: it calls ``lookup(key_id,
refresh=False)`` and, on a key mismatch only, once more with
``refresh=True`` (the remote actor may have rotated its key).

Keys are parsed once: :func:`load_private_key` and :func:`load_public_key` keep
the parsed objects in small LRU caches keyed by the PEM text, so no request
re-parses a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "KeyMismatchError",
    "SignatureError",
    "format_http_date",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "parse_signature_header",
    "sign_request",
    "sign_rfc9421",
    "verify",
    "verify_cavage",
    "verify_rfc9421",
]

PublicKeyLike = str | bytes | rsa.RSAPublicKey
KeyLookup = Callable[[str], PublicKeyLike | None]
RefreshingKeyLookup = Callable[[str, bool], PublicKeyLike | None]

#: Mastodon's ``CLOCK_SKEW_MARGIN``: how far in the future a signature may be
#: dated, and how long after it expires it is still accepted.
CLOCK_SKEW_MARGIN = timedelta(hours=1)
#: A signature with no explicit expiry expires this long after it was made, so
#: with the margin a ``Date`` is accepted for 65 minutes (as Mastodon does).
DEFAULT_EXPIRY = timedelta(minutes=5)
#: Mastodon's ``EXPIRATION_WINDOW_LIMIT``: caps an explicit ``expires``.
EXPIRATION_WINDOW_LIMIT = timedelta(hours=12)
#: Longest signature header we parse; real ones are well under 1 KB.
MAX_HEADER_LENGTH = 8192

ACTIVITY_JSON = "application/activity+json"
ACCEPT_ACTIVITY_JSON = "application/activity+json, application/ld+json"
RFC9421_ALGORITHM = "rsa-v1_5-sha256"
CAVAGE_ALGORITHMS = ("rsa-sha256", "hs2019")
REQUEST_TARGET = "(request-target)"

POST_SIGNED_HEADERS = (REQUEST_TARGET, "host", "date", "digest", "content-type")
GET_SIGNED_HEADERS = (REQUEST_TARGET, "host", "date", "accept")


class SignatureError(Exception):
    """The request's signature is missing, malformed, too weak, out of its time window, or wrong."""


class KeyMismatchError(SignatureError):
    """The signature did not verify with the key at hand, or no usable key was found: a re-fetched key may cure it."""


# -- keys ---------------------------------------------------------------------


def generate_key_pair() -> tuple[str, str]:
    """A new RSA-2048 key pair as ``(private_pem, public_pem)`` (PKCS#8 and SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem.decode("ascii"), public_pem.decode("ascii")


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    """Parse one of OUR private keys (made by :func:`generate_key_pair`), cached by PEM text.

    RSA key validation costs ~70–90 ms per load (11–14 loads/s on one core),
    more than signing itself, so it is skipped with
    ``unsafe_skip_rsa_key_validation=True``. That is safe only because these
    keys were generated by us and stored by us; never pass a private key that
    came from outside the instance.
    """
    return _load_private_key(_text(pem))


@lru_cache(maxsize=128)
def _load_private_key(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("only RSA private keys are supported")
    return key


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Parse a (remote) RSA public key, cached by PEM text; :class:`ValueError` if unusable."""
    return _load_public_key(_text(pem))


@lru_cache(maxsize=1024)
def _load_public_key(pem: str) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except UnsupportedAlgorithm as error:
        raise ValueError(f"unsupported public key: {error}") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"only RSA public keys are supported, not {type(key).__name__}")
    return key


def _text(pem: str | bytes) -> str:
    return pem.decode("utf-8") if isinstance(pem, bytes) else pem


def _private_key(key: rsa.RSAPrivateKey | str | bytes) -> rsa.RSAPrivateKey:
    return key if isinstance(key, rsa.RSAPrivateKey) else load_private_key(key)


def _public_key(lookup: KeyLookup, key_id: str) -> rsa.RSAPublicKey:
    found = lookup(key_id)
    if found is None:
        raise KeyMismatchError(f"Unable to fetch key {key_id}")
    if isinstance(found, rsa.RSAPublicKey):
        return found
    if isinstance(found, str | bytes):
        try:
            return load_public_key(found)
        except ValueError as error:
            raise KeyMismatchError(f"Unusable public key {key_id}: {error}") from error
    raise KeyMismatchError(f"Unsupported key type for {key_id}: {type(found).__name__}")


def _rsa_verifies(key: rsa.RSAPublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


# -- shared helpers -----------------------------------------------------------


def format_http_date(now: datetime | None = None) -> str:
    """``now`` (default: the current time) as an RFC 7231 IMF-fixdate, e.g. ``Wed, 20 Dec 2023 10:00:00 GMT``."""
    return format_datetime(_utc(now), usegmt=True)


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _sha256_base64(body: bytes | None) -> str:
    return base64.b64encode(hashlib.sha256(body or b"").digest()).decode("ascii")


def _authority(parts: SplitResult) -> str:
    """``host[:port]`` of a URL, lower-cased, without userinfo or the scheme's default port."""
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host


def _path_with_query(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _has_body(method: str, body: bytes | None) -> bool:
    return method.upper() == "POST" or bool(body)


def _check_time_window(created: datetime, expires: datetime | None, now: datetime) -> None:
    # Mastodon's matches_time_window?: a signature is good from created - margin
    # to expiry + margin, expiry defaulting to created + 5 min and capped at 12 h.
    expires = min(expires or created + DEFAULT_EXPIRY, created + EXPIRATION_WINDOW_LIMIT)
    outside = "Signed request date outside acceptable time window"
    if created > now + CLOCK_SKEW_MARGIN:
        raise SignatureError(f"{outside}: created {created:%Y-%m-%dT%H:%M:%SZ} is in the future")
    if now > expires + CLOCK_SKEW_MARGIN:
        raise SignatureError(f"{outside}: expired {expires:%Y-%m-%dT%H:%M:%SZ}")


def _timestamp(value: Any, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | str) or not re.fullmatch(r"[0-9]+", str(value)):
        raise SignatureError(f"Invalid {name} parameter: {value!r}")
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise SignatureError(f"Invalid {name} parameter: {value!r}") from error


def _decode_base64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise SignatureError(f"{what} is not valid base64") from error


# -- draft-cavage: signing ----------------------------------------------------


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey | str | bytes,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request as Mastodon does; returns a new header dict with ``Signature`` and what it covers.

    Adds ``Host`` (from ``url``) and ``Date`` (from ``now``) when missing. A POST
    (or any request with a body) gets ``Digest: SHA-256=<base64>`` and
    ``Content-Type`` (default ``application/activity+json``) and signs
    ``(request-target) host date digest content-type``; anything else gets
    ``Accept`` (default ActivityPub JSON) and signs ``(request-target) host date accept``.
    ``private_key`` is a key object or one of our PEMs (parsed once, see :func:`load_private_key`).
    """
    method = method.upper()
    parts = urlsplit(url)
    signed_headers = dict(headers)
    present = {name.lower(): name for name in signed_headers}

    def put(name: str, value: str, *, replace: bool = False) -> None:
        existing = present.get(name.lower())
        if existing is not None and not replace:
            return
        signed_headers.pop(existing or name, None)
        signed_headers[name] = value
        present[name.lower()] = name

    put("Host", _authority(parts))
    put("Date", format_http_date(now))
    if _has_body(method, body):
        put("Digest", f"SHA-256={_sha256_base64(body)}", replace=True)
        put("Content-Type", ACTIVITY_JSON)
        covered = POST_SIGNED_HEADERS
    else:
        put("Accept", ACCEPT_ACTIVITY_JSON)
        covered = GET_SIGNED_HEADERS
    signing_string = _cavage_signing_string(
        covered, method, _path_with_query(parts), _lower_headers(signed_headers), {}, "rsa-sha256"
    )
    signature = _rsa_sign(_private_key(private_key), signing_string.encode("utf-8"))
    put(
        "Signature",
        f'keyId="{_escape(key_id)}",algorithm="rsa-sha256",headers="{" ".join(covered)}",signature="{signature}"',
        replace=True,
    )
    return signed_headers


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _cavage_signing_string(
    covered: Sequence[str],
    method: str,
    target: str,
    headers: Mapping[str, str],
    params: Mapping[str, str],
    algorithm: str,
) -> str:
    lines = []
    for name in covered:
        if name == REQUEST_TARGET:
            lines.append(f"{REQUEST_TARGET}: {method.lower()} {target}")
        elif name in ("(created)", "(expires)"):
            if algorithm != "hs2019":
                raise SignatureError(f"Invalid pseudo-header {name} for {algorithm}")
            if not params.get(name[1:-1]):
                raise SignatureError(f"Pseudo-header {name} used but corresponding argument missing")
            lines.append(f"{name}: {params[name[1:-1]]}")
        elif name.startswith("("):
            raise SignatureError(f"Unsupported pseudo-header {name}")
        elif name in headers:
            lines.append(f"{name}: {headers[name].strip()}")
        else:
            raise SignatureError(f"Signed header {name} is missing from the request")
    return "\n".join(lines)


# -- draft-cavage: verifying --------------------------------------------------

# One ``name="quoted value"`` (or ``name=token``) parameter and what follows it.
_PARAMETER = re.compile(r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s",]*))[ \t]*(,|\Z)')
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_signature_header(value: str) -> dict[str, str]:
    """The parameters of a draft-cavage ``Signature`` header, e.g. ``{"keyId": ..., "signature": ...}``.

    Raises :class:`SignatureError` for anything that is not a comma-separated
    list of ``name="value"`` pairs, for duplicate names, and for headers over
    :data:`MAX_HEADER_LENGTH` characters.
    """
    if len(value) > MAX_HEADER_LENGTH:
        raise SignatureError(f"Signature header is too long ({len(value)} characters)")
    value = value.strip()
    if not value:
        raise SignatureError("Error parsing signature parameters: empty Signature header")
    params: dict[str, str] = {}
    position = 0
    while position < len(value):
        match = _PARAMETER.match(value, position)
        if match is None:
            raise SignatureError(f"Error parsing signature parameters at character {position}")
        name, quoted, token, _ = match.groups()
        if name in params:
            raise SignatureError(f"Error parsing signature parameters: {name} given twice")
        params[name] = _QUOTED_PAIR.sub(r"\1", quoted) if quoted is not None else token
        position = match.end()
    return params


def verify_cavage(
    method: str,
    path_with_query: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_lookup: KeyLookup,
    now: datetime | None = None,
) -> str:
    """Verify a draft-cavage ``Signature`` header with Mastodon's rules; returns the keyId that verified.

    ``path_with_query`` is the request target as received (``/inbox?x=1``).
    Checks, cheapest first, before the key is looked up: ``keyId`` and
    ``signature`` present; algorithm ``rsa-sha256`` or ``hs2019`` (RSASSA-PKCS1-v1_5
    with SHA-256 either way); Mastodon's strength rules (``date`` or ``(created)``
    signed; ``(request-target)`` or ``digest`` signed; ``host`` signed on GET;
    ``digest`` signed on POST or with a body); the time window (the signed
    ``Date`` or ``(created)`` not more than 1 h ahead, and not past its expiry —
    5 min after creation unless a signed ``(expires)`` says otherwise, capped at
    12 h — plus 1 h);
    ``Digest`` against the body. Then the signature itself, with the query string
    and, like Mastodon, without it. Raises :class:`SignatureError`
    (:class:`KeyMismatchError` when the key is missing or does not verify).
    """
    now = _utc(now)
    method = method.upper()
    lowered = _lower_headers(headers)
    if "signature" not in lowered:
        raise SignatureError("Request is not signed: no Signature header")
    params = parse_signature_header(lowered["signature"])
    missing = [name for name in ("keyId", "signature") if not params.get(name)]
    if missing:
        raise SignatureError(f"Incompatible request signature: {' and '.join(missing)} required")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in CAVAGE_ALGORITHMS:
        raise SignatureError(f"Unsupported signature algorithm {algorithm!r} (only rsa-sha256 and hs2019)")
    covered = params.get("headers", "(created)" if algorithm == "hs2019" else "date").lower().split()

    _check_cavage_strength(covered, method, body)
    _check_time_window(*_cavage_times(algorithm, params, lowered, covered), now)
    if "digest" in covered:
        _check_digest(lowered.get("digest"), body)

    signature = _decode_base64(params["signature"], "signature")
    candidates = [_cavage_signing_string(covered, method, path_with_query, lowered, params, algorithm)]
    path, has_query, _ = path_with_query.partition("?")
    if has_query and REQUEST_TARGET in covered:
        # Older Mastodon versions left the query string out of (request-target).
        candidates.append(_cavage_signing_string(covered, method, path, lowered, params, algorithm))

    key_id = params["keyId"]
    key = _public_key(public_key_lookup, key_id)
    if any(_rsa_verifies(key, signature, candidate.encode("utf-8")) for candidate in candidates):
        return key_id
    raise KeyMismatchError(f"Verification failed for {key_id}: the signature does not match the key")


def _cavage_times(
    algorithm: str, params: Mapping[str, str], headers: Mapping[str, str], covered: Sequence[str]
) -> tuple[datetime, datetime | None]:
    """When the request was made and until when it is good: only what the signature covers counts.

    ``created``/``expires`` parameters are read only when ``(created)``/``(expires)``
    are signed; otherwise anyone replaying a captured request could add fresh ones.
    """
    expires = None
    if algorithm == "hs2019" and params.get("expires") and "(expires)" in covered:
        expires = _timestamp(params["expires"], "expires")
    if algorithm == "hs2019" and params.get("created") and "(created)" in covered:
        return _timestamp(params["created"], "created"), expires
    if "date" not in headers or "date" not in covered:
        raise SignatureError("Signed request has neither a signed Date header nor a signed (created) parameter")
    try:
        created = parsedate_to_datetime(headers["date"])
    except (TypeError, ValueError, IndexError) as error:
        raise SignatureError(f"Invalid Date header: {headers['date']!r}") from error
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created, expires


def _check_cavage_strength(covered: Sequence[str], method: str, body: bytes | None) -> None:
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("Mastodon requires the Date header or (created) pseudo-header to be signed")
    if REQUEST_TARGET not in covered and "digest" not in covered:
        raise SignatureError("Mastodon requires the Digest header or (request-target) pseudo-header to be signed")
    if method == "GET" and "host" not in covered:
        raise SignatureError("Mastodon requires the Host header to be signed when doing a GET request")
    if _has_body(method, body) and "digest" not in covered:
        raise SignatureError("Mastodon requires the Digest header to be signed when doing a POST request")


def _check_digest(header: str | None, body: bytes | None) -> None:
    if header is None:
        raise SignatureError("Digest header missing")
    digests = {}
    for item in header.split(","):
        name, _, value = item.partition("=")
        digests[name.strip().lower()] = value.strip()
    given = digests.get("sha-256")
    if given is None:
        raise SignatureError(f"Only SHA-256 is supported in the Digest header; offered: {', '.join(digests)}")
    computed = _sha256_base64(body)
    if given != computed:
        raise SignatureError(f"Invalid Digest value. Computed SHA-256 digest: {computed}; given: {given}")


# -- RFC 9421 -----------------------------------------------------------------


class _Token(str):
    """An RFC 8941 token (serialised bare), as opposed to a string (serialised quoted)."""


_SF_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*")
_SF_INTEGER = re.compile(r"-?[0-9]{1,15}(?![0-9.])")
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')
_SF_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_SF_BYTES = re.compile(r":([A-Za-z0-9+/=]*):")


class _StructuredFieldParser:
    """Just enough of RFC 8941 for Signature-Input, Signature and Content-Digest: dictionaries."""

    def __init__(self, text: str, field: str) -> None:
        self.text = text.strip(" ")
        self.field = field
        self.position = 0

    def fail(self, why: str) -> SignatureError:
        return SignatureError(f"Malformed {self.field} header: {why} at character {self.position}")

    def peek(self) -> str:
        return self.text[self.position : self.position + 1]

    def skip(self, characters: str) -> None:
        while self.peek() and self.peek() in characters:
            self.position += 1

    def take(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        match = pattern.match(self.text, self.position)
        if match is None:
            raise self.fail(f"expected {what}")
        self.position = match.end()
        return match

    def dictionary(self) -> dict[str, tuple[Any, dict[str, Any]]]:
        members: dict[str, tuple[Any, dict[str, Any]]] = {}
        while self.position < len(self.text):
            key = self.take(_SF_KEY, "a key").group()
            if self.peek() == "=":
                self.position += 1
                value: Any = self.inner_list() if self.peek() == "(" else self.bare_item()
            else:
                value = True
            members[key] = (value, self.parameters())
            self.skip(" \t")
            if self.position == len(self.text):
                break
            if self.peek() != ",":
                raise self.fail("expected ','")
            self.position += 1
            self.skip(" \t")
            if self.position == len(self.text):
                raise self.fail("trailing ','")
        if not members:
            raise self.fail("empty dictionary")
        return members

    def inner_list(self) -> list[tuple[Any, dict[str, Any]]]:
        self.position += 1  # "("
        items = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.position += 1
                return items
            items.append((self.bare_item(), self.parameters()))
            if self.peek() not in (" ", ")"):
                raise self.fail("expected ' ' or ')' in inner list")

    def parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        while self.peek() == ";":
            self.position += 1
            self.skip(" ")
            key = self.take(_SF_KEY, "a parameter name").group()
            if self.peek() == "=":
                self.position += 1
                params[key] = self.bare_item()
            else:
                params[key] = True
        return params

    def bare_item(self) -> Any:
        first = self.peek()
        if first == '"':
            return _QUOTED_PAIR.sub(r"\1", self.take(_SF_STRING, "a string").group(1))
        if first == ":":
            encoded = self.take(_SF_BYTES, "a byte sequence").group(1)
            try:
                return base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as error:
                raise self.fail("invalid base64") from error
        if first == "?":
            value = self.text[self.position + 1 : self.position + 2]
            if value not in ("0", "1"):
                raise self.fail("expected a boolean")
            self.position += 2
            return value == "1"
        if first == "-" or first.isdigit():
            return int(self.take(_SF_INTEGER, "an integer").group())
        return _Token(self.take(_SF_TOKEN, "an item").group())


def _parse_dictionary(value: str | None, field: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    if value is None:
        raise SignatureError(f"{field} header missing")
    if len(value) > MAX_HEADER_LENGTH:
        raise SignatureError(f"{field} header is too long ({len(value)} characters)")
    return _StructuredFieldParser(value, field).dictionary()


def _serialize_item(value: Any) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int | _Token):
        return str(value)
    if isinstance(value, bytes):
        return f":{base64.b64encode(value).decode('ascii')}:"
    return f'"{_escape(value)}"'


def _serialize_inner_list(items: Sequence[tuple[Any, Mapping[str, Any]]], params: Mapping[str, Any]) -> str:
    def with_params(value: str, parameters: Mapping[str, Any]) -> str:
        rendered = (
            f";{key}" if item is True else f";{key}={_serialize_item(item)}" for key, item in parameters.items()
        )
        return value + "".join(rendered)

    inner = " ".join(with_params(_serialize_item(item), item_params) for item, item_params in items)
    return with_params(f"({inner})", params)


def _component_value(name: str, method: str, parts: SplitResult, url: str, headers: Mapping[str, str]) -> str:
    derived = {
        "@method": lambda: method,
        "@target-uri": lambda: url,
        "@authority": lambda: _authority(parts),
        "@scheme": lambda: parts.scheme.lower(),
        "@path": lambda: parts.path or "/",
        "@query": lambda: f"?{parts.query}",
        "@request-target": lambda: _path_with_query(parts),
    }
    if name.startswith("@"):
        if name not in derived:
            raise SignatureError(f"Unsupported derived component {name}")
        return derived[name]()
    if name not in headers:
        raise SignatureError(f"Signed header {name} is missing from the request")
    return headers[name].strip()


def _signature_base(
    components: Sequence[str], signature_params: str, method: str, url: str, headers: Mapping[str, str]
) -> bytes:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise SignatureError(f"Invalid target URI {url!r}") from error
    lines = [f'"{name}": {_component_value(name, method, parts, url, headers)}' for name in components]
    lines.append(f'"@signature-params": {signature_params}')
    return "\n".join(lines).encode("utf-8")


def sign_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey | str | bytes,
    *,
    now: datetime | None = None,
    label: str = "sig1",
) -> dict[str, str]:
    """Sign with RFC 9421; returns a new header dict with ``Signature-Input`` and ``Signature``.

    Covers ``@method @target-uri @authority``, plus ``content-digest`` (added as
    ``Content-Digest: sha-256=:<base64>:``) for a POST or any request with a body.
    Parameters: ``created`` (from ``now``), ``keyid``, ``alg="rsa-v1_5-sha256"``.
    """
    method = method.upper()
    signed_headers = {name: value for name, value in headers.items() if name.lower() != "content-digest"}
    components = ["@method", "@target-uri", "@authority"]
    if _has_body(method, body):
        signed_headers["Content-Digest"] = f"sha-256=:{_sha256_base64(body)}:"
        components.append("content-digest")
    params = {"created": int(_utc(now).timestamp()), "keyid": key_id, "alg": RFC9421_ALGORITHM}
    signature_params = _serialize_inner_list([(name, {}) for name in components], params)
    base = _signature_base(components, signature_params, method, url, _lower_headers(signed_headers))
    signed_headers["Signature-Input"] = f"{label}={signature_params}"
    signed_headers["Signature"] = f"{label}=:{_rsa_sign(_private_key(private_key), base)}:"
    return signed_headers


def verify_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_key_lookup: KeyLookup,
    now: datetime | None = None,
) -> str:
    """Verify an RFC 9421 signature with Mastodon's rules; returns the keyid that verified.

    ``url`` is the full target URI as the sender addressed it (scheme and host
    included). Requires exactly one signature, with ``keyid`` and ``created``;
    ``alg``, if given, must be ``rsa-v1_5-sha256``; the time window is the same
    as for draft-cavage; ``@method`` and ``@target-uri`` must be covered, and
    ``content-digest`` for a POST or a request with a body, which is checked
    against the body. Covered components may be ``@method @target-uri
    @authority @scheme @path @query @request-target`` and header fields.
    Raises :class:`SignatureError` (:class:`KeyMismatchError` when the key is
    missing or does not verify).
    """
    now = _utc(now)
    method = method.upper()
    lowered = _lower_headers(headers)
    inputs = _parse_dictionary(lowered.get("signature-input"), "Signature-Input")
    signatures = _parse_dictionary(lowered.get("signature"), "Signature")
    if len(inputs) != 1:
        raise SignatureError(f"Exactly one signature is supported, got {len(inputs)}")
    label, (items, params) = next(iter(inputs.items()))
    if not isinstance(items, list):
        raise SignatureError(f"Signature-Input {label} is not an inner list")
    signature = signatures.get(label, (None, {}))[0]
    if not isinstance(signature, bytes):
        raise SignatureError(f"Signature header has no byte sequence labelled {label}")

    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id or "created" not in params:
        raise SignatureError("Incompatible request signature: keyid and created are required")
    algorithm = params.get("alg", RFC9421_ALGORITHM)
    if algorithm != RFC9421_ALGORITHM:
        raise SignatureError(f"Unsupported signature algorithm {algorithm!r} (only {RFC9421_ALGORITHM} is supported)")
    expires = _timestamp(params["expires"], "expires") if "expires" in params else None
    _check_time_window(_timestamp(params["created"], "created"), expires, now)

    components = []
    for item, item_params in items:
        if not isinstance(item, str) or isinstance(item, _Token) or item_params:
            raise SignatureError(f"Unsupported covered component {_serialize_item(item)}")
        if item in components:
            raise SignatureError(f"Component {item} is covered twice")
        components.append(item)
    if "@method" not in components or "@target-uri" not in components:
        raise SignatureError("Mastodon requires the @method and @target-uri derived components to be signed")
    if _has_body(method, body) and "content-digest" not in components:
        raise SignatureError("Mastodon requires the Content-Digest header to be signed when doing a POST request")
    if "content-digest" in components:
        _check_content_digest(lowered.get("content-digest"), body)

    base = _signature_base(components, _serialize_inner_list(items, params), method, url, lowered)
    key = _public_key(public_key_lookup, key_id)
    if _rsa_verifies(key, signature, base):
        return key_id
    raise KeyMismatchError(f"Verification failed for {key_id}: the signature does not match the key")


def _check_content_digest(header: str | None, body: bytes | None) -> None:
    digests = _parse_dictionary(header, "Content-Digest")
    given = digests.get("sha-256", (None, {}))[0]
    if given is None:
        raise SignatureError(f"Only sha-256 is supported in Content-Digest; offered: {', '.join(digests)}")
    if not isinstance(given, bytes):
        raise SignatureError("Malformed Content-Digest header: sha-256 is not a byte sequence")
    given_base64 = base64.b64encode(given).decode("ascii")
    computed = _sha256_base64(body)
    if given_base64 != computed:
        raise SignatureError(f"Invalid Content-Digest value. Computed SHA-256: {computed}; given: {given_base64}")


# -- either scheme, with key rotation -----------------------------------------


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    lookup: RefreshingKeyLookup,
    now: datetime | None = None,
) -> str:
    """Verify whichever scheme the request uses; returns the keyId that verified.

    RFC 9421 when ``Signature-Input`` is present, draft-cavage otherwise (as
    Mastodon decides). ``url`` is the full URL the request was addressed to.
    ``lookup(key_id, refresh)`` is first called with ``refresh=False`` (a cached
    key will do); if that key is missing or does not verify, it is called once
    more with ``refresh=True`` (re-fetch it: the actor may have rotated its key)
    and verification is retried. Other failures are not retried.
    """
    lowered = _lower_headers(headers)
    if "signature-input" in lowered:

        def attempt(key_lookup: KeyLookup) -> str:
            return verify_rfc9421(method, url, headers, body, key_lookup, now)

    else:
        target = _path_with_query(urlsplit(url))

        def attempt(key_lookup: KeyLookup) -> str:
            return verify_cavage(method, target, headers, body, key_lookup, now)

    try:
        return attempt(lambda key_id: lookup(key_id, False))
    except KeyMismatchError:
        return attempt(lambda key_id: lookup(key_id, True))
