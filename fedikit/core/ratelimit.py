"""Rate limits as Mastodon sets them, answered with 429 and ``X-RateLimit-*`` headers.

Callers are told apart by the socket address, or by ``X-Forwarded-For`` only
when the request comes through a proxy listed in ``TRUSTED_PROXY_IP``
(Mastodon's name); a forged header from anyone else changes nothing.
IPv6 callers are grouped by /64, as Mastodon groups them.

Counters are fixed windows in the cache backend: in this process on the
embedded defaults, in Redis (shared by every web process) when it is
configured. If the cache cannot be reached, requests are let through (and
the log says so): a broken cache must not take the whole API down.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request

from fedikit.plugin_api import BackendError, Cache, StartupError

log = logging.getLogger("fedikit.ratelimit")


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    period: int  # seconds
    applies: Callable[[], bool]
    key: Callable[[], str | None]


def _api() -> bool:
    return request.path.startswith("/api/")


def _token_key() -> str | None:
    header = request.headers.get("Authorization", "")
    return f"token:{header[7:].strip()}" if header.lower().startswith("bearer ") and header[7:].strip() else None


def _ip_key() -> str:
    return f"ip:{client_address()}"


def _anonymous_api() -> bool:
    return _api() and _token_key() is None


def _sign_in() -> bool:
    return request.method == "POST" and request.path.rstrip("/") in ("/auth/sign_in", "/oauth/token")


def _media() -> bool:
    return request.method == "POST" and request.path.rstrip("/") in ("/api/v1/media", "/api/v2/media")


def _deletes() -> bool:
    path = request.path.rstrip("/")
    return (request.method == "DELETE" and path.startswith("/api/v1/statuses/")) or (
        request.method == "POST" and path.startswith("/api/v1/statuses/") and path.endswith("/unreblog")
    )


def _sign_up() -> bool:
    return request.method == "POST" and request.path.rstrip("/") == "/api/v1/accounts"


def _sign_in_email() -> str | None:
    login = (request.form.get("email") or request.form.get("username") or "").strip().lower()
    return f"login:{login}" if login else None


def _user_key() -> str | None:
    from fedikit.core.api.auth import current_token

    token = current_token() if _token_key() else None  # an invalid token is refused (401) right here
    return f"user:{token.user_id}" if token is not None and token.user_id else None


RULES = (
    Rule("authenticated_api", 1500, 300, _api, _user_key),
    Rule("per_token_api", 300, 300, _api, _token_key),
    Rule("unauthenticated_api", 300, 300, _anonymous_api, _ip_key),
    Rule("sign_in_ip", 25, 300, _sign_in, _ip_key),
    Rule("sign_in_login", 25, 3600, _sign_in, _sign_in_email),
    Rule("api_sign_up", 5, 1800, _sign_up, _ip_key),
    Rule("media_uploads", 30, 1800, _media, lambda: _token_key() or _ip_key()),
    Rule("deletes", 30, 1800, _deletes, lambda: _token_key() or _ip_key()),
)


def client_address() -> str:
    """The caller's address, as a /64 network for IPv6."""
    from flask import current_app

    address = request.remote_addr or "0.0.0.0"
    trusted = current_app.config.get("TRUSTED_PROXY_IP") or []
    if trusted and _in(address, trusted):
        for hop in reversed([h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]):
            if not _in(hop, trusted):
                address = hop
                break
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _in(address: str, networks: list[Any]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


class Limiter:
    """Fixed-window counters per (rule, caller) in the cache; the window is part of the key."""

    def __init__(self, rules: tuple[Rule, ...], cache: Cache) -> None:
        self.rules = rules
        self.cache = cache
        self._warned = 0.0

    def hit(self, rule: Rule, key: str) -> tuple[int, int, float] | None:
        """Count one request; ``(count, limit, reset_at)``, or None when the cache cannot count."""
        window = int(time.time() // rule.period)
        caller = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]  # keys hold tokens: never in clear
        try:
            count = self.cache.incr(f"ratelimit:{rule.name}:{window}:{caller}", rule.period)
        except BackendError:
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("rate limits are not counted: the cache is unavailable", exc_info=True)
            return None
        return count, rule.limit, (window + 1) * rule.period


def parse_overrides(value: Any) -> dict[str, tuple[int, int]]:
    """``RATE_LIMITS``: a mapping, or ``name=limit/seconds,...`` from the environment.

    For example ``RATE_LIMITS=per_token_api=100000/300,authenticated_api=100000/300``
    lets a load test through; rule names are those of :data:`RULES`.
    """
    if not value:
        return {}
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in str(value).split(","):
            name, _, rule = part.strip().partition("=")
            limit, _, period = rule.partition("/")
            items.append((name.strip(), (limit.strip(), period.strip())))
    known = {rule.name for rule in RULES}
    parsed = {}
    for name, (limit, period) in items:
        if name not in known:
            raise StartupError(f"RATE_LIMITS: unknown rule {name!r}; rules are {', '.join(sorted(known))}")
        try:
            parsed[name] = (int(limit), int(period))
        except (TypeError, ValueError):
            raise StartupError(f"RATE_LIMITS: {name} needs limit/seconds, e.g. {name}=300/300") from None
        if parsed[name][0] < 1 or parsed[name][1] < 1:
            raise StartupError(f"RATE_LIMITS: {name} needs a positive limit and period")
    return parsed


def install(app: Flask) -> None:
    overrides = parse_overrides(app.config.get("RATE_LIMITS"))
    rules = tuple(
        dataclasses.replace(rule, limit=int(overrides[rule.name][0]), period=int(overrides[rule.name][1]))
        if rule.name in overrides
        else rule
        for rule in RULES
    )
    limiter = Limiter(rules, app.extensions["fedikit"].cache)
    app.extensions["fedikit.ratelimit"] = limiter

    @app.before_request
    def check() -> Response | tuple[Response, int] | None:
        shown = None
        for rule in limiter.rules:
            if not rule.applies():
                continue
            key = rule.key()
            if key is None:
                continue
            counted = limiter.hit(rule, key)
            if counted is None:
                continue
            count, limit, reset_at = counted
            remaining = max(limit - count, 0)
            if shown is None or remaining < shown[1]:
                shown = (limit, remaining, reset_at)
            if count > limit:
                response = jsonify(error="Too many requests")
                _headers(response, limit, 0, reset_at)
                return response, 429
        g.fedikit_ratelimit = shown
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        shown = g.pop("fedikit_ratelimit", None)
        if shown is not None and _api():
            _headers(response, *shown)
        return response


def _headers(response: Response, limit: int, remaining: int, reset_at: float) -> None:
    response.headers["X-RateLimit-Limit"] = str(limit)
    response.headers["X-RateLimit-Remaining"] = str(remaining)
    response.headers["X-RateLimit-Reset"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(reset_at))
