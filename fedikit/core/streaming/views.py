"""The streaming endpoints: server-sent events per stream, and the multiplexed WebSocket.

Each open stream holds one server thread (``fedikit serve`` adds
``STREAMING_MAX_CONNECTIONS`` threads to each process for them, so streams
never take the threads API requests need). Past that many, a new stream is
refused with 503 and the client retries, as clients do.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from fedikit.core.db import db
from fedikit.core.streaming.connection import STOPPING, Closed, Connection, authenticate
from fedikit.core.streaming.streams import StreamError

log = logging.getLogger("fedikit.streaming")

bp = Blueprint("streaming", __name__)

# SSE paths under /api/v1/streaming/ and the stream each opens.
SSE_STREAMS = {
    "user": "user",
    "user/notification": "user:notification",
    "public": "public",
    "public/local": "public:local",
    "public/remote": "public:remote",
    "hashtag": "hashtag",
    "hashtag/local": "hashtag:local",
    "list": "list",
    "direct": "direct",
}
POLL_SECONDS = 0.5  # how often a WebSocket looks for subscribe/unsubscribe messages while no event comes


class _Slots:
    """Counts open streams per process; refuses past the configured maximum."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0

    def take(self, limit: int) -> bool:
        with self.lock:
            if self.open >= limit:
                return False
            self.open += 1
            return True

    def give(self) -> None:
        with self.lock:
            self.open -= 1


def _slots() -> _Slots:
    return current_app.extensions.setdefault("fedikit.streaming.slots", _Slots())


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip()
    if request.args.get("access_token"):
        return request.args["access_token"].strip()
    protocol = request.headers.get("Sec-WebSocket-Protocol", "").split(",")[0].strip()
    return protocol or None


def _heartbeat() -> float:
    return float(current_app.config.get("STREAMING_HEARTBEAT", 15))


def _open(stream: str | None) -> Connection | Response:
    """A connection for the caller's token, subscribed to ``stream`` (if named), holding a slot; or the refusal."""
    try:
        connection = Connection(authenticate(_secret()))
        if stream:
            connection.subscribe(stream, request.args)
    except StreamError as exc:
        db.session.rollback()
        return _error(exc.status, exc.message)
    if not _slots().take(int(current_app.config["STREAMING_MAX_CONNECTIONS"])):
        connection.close()
        return _error(503, "Too many open streams on this server; try again later")
    return connection


@bp.get("/api/v1/streaming/health")
@bp.get("/api/v1/streaming/health/")
def health() -> Response:
    return Response("OK", content_type="text/plain; charset=utf-8")


@bp.get("/api/v1/streaming/<path:kind>")
def server_sent_events(kind: str) -> Response:
    name = SSE_STREAMS.get(kind.strip("/"))
    if name is None:
        return _error(400, "Unknown channel requested")
    connection = _open(name)
    if isinstance(connection, Response):
        return connection
    heartbeat = _heartbeat()
    app, slots = current_app._get_current_object(), _slots()  # type: ignore[attr-defined]

    def events() -> Iterator[str]:
        # Each step runs in an app context of its own, opened and closed between two yields: an open stream
        # holds no context (and no database session) while it waits for the client to read.
        try:
            yield ":)\n\n"
            next_beat = time.monotonic() + heartbeat
            while not STOPPING.is_set():
                with app.app_context():
                    batch = connection.wait(min(1.0, max(0.0, next_beat - time.monotonic())))
                    beat = time.monotonic() >= next_beat
                    if beat:
                        connection.check()
                for _label, event, payload in batch:
                    yield f"event: {event}\ndata: {payload if payload is not None else 'undefined'}\n\n"
                if beat:
                    yield ":thump\n\n"
                    next_beat = time.monotonic() + heartbeat
        except Closed:
            return
        finally:
            connection.close()
            slots.give()

    response = Response(events(), content_type="text/event-stream; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
    return response


@bp.get("/api/v1/streaming", strict_slashes=False)
def not_a_websocket() -> Response:
    """Mastodon's answer to a plain request here: streams are served on this host (no redirect)."""
    return _error(404, "Record not found")


@bp.route("/api/v1/streaming", methods=["GET"], strict_slashes=False, websocket=True)
def websocket() -> Any:
    connection = _open(request.args.get("stream"))
    if isinstance(connection, Response):
        return connection
    from simple_websocket import ConnectionClosed, Server

    offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
    heartbeat = _heartbeat()
    ws = None
    try:
        ws = Server(
            request.environ,
            subprotocols=offered[:1],  # a token sent as the subprotocol is echoed back, as browsers require
            ping_interval=heartbeat,
            max_message_size=64 * 1024,
        )
        _serve(ws, connection, heartbeat)
    except (ConnectionClosed, Closed):
        pass
    finally:
        connection.close()
        _slots().give()
        db.session.remove()
        if ws is not None:
            with contextlib.suppress(Exception):  # already closed by the client
                ws.close()
    return _Hijacked(ws.mode if ws is not None else "")


def _serve(ws: Any, connection: Connection, heartbeat: float) -> None:
    next_check = time.monotonic() + heartbeat
    while not STOPPING.is_set():
        while (incoming := ws.receive(timeout=0)) is not None:
            _control(ws, connection, incoming)
        for label, event, payload in connection.wait(POLL_SECONDS):
            ws.send(_frame(label, event, payload))
        if time.monotonic() >= next_check:
            connection.check()
            next_check = time.monotonic() + heartbeat


def _frame(label: list[str], event: str, payload: str | None) -> str:
    body: dict[str, Any] = {"stream": label, "event": event}
    if payload is not None:
        body["payload"] = payload
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _control(ws: Any, connection: Connection, incoming: str | bytes) -> None:
    """A subscribe or unsubscribe message from the client; errors are sent back as Mastodon does."""
    try:
        message = json.loads(incoming)
        if not isinstance(message, dict):
            raise ValueError
    except ValueError:
        ws.send(json.dumps({"error": "Invalid JSON message", "status": 400}))
        return
    params = {k: str(v) for k, v in message.items() if isinstance(v, str | int) and not isinstance(v, bool)}
    kind = message.get("type")
    try:
        if kind == "subscribe":
            connection.subscribe(message.get("stream"), params)
        elif kind == "unsubscribe":
            connection.unsubscribe(message.get("stream"), params)
        else:
            raise StreamError(400, "Unknown message type")
    except StreamError as exc:
        db.session.rollback()
        ws.send(json.dumps({"error": exc.message, "status": exc.status}))


class _Hijacked(Response):
    """The response of a request whose socket the WebSocket took over: the server must write nothing more."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self._mode = mode

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self._mode == "gunicorn":
            raise StopIteration()  # gunicorn's sign that the application handled the socket itself
        if self._mode == "werkzeug":
            return super().__call__(environ, start_response)
        return []
