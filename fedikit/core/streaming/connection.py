"""One open stream: who is watching, which streams, and what each message becomes for them.

A :class:`Connection` is used by one thread (the request serving the
stream). It holds no database connection between messages: each batch of
messages is handled in a short transaction that ends before it waits again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from fedikit.core.db import db, utcnow
from fedikit.core.errors import NotFound
from fedikit.core.models import AccessToken, Account, Notification
from fedikit.core.models import List as AccountList
from fedikit.core.oauth import scopes as scope_rules
from fedikit.core.oauth import tokens
from fedikit.core.services import timelines
from fedikit.core.services.accounts import refusal
from fedikit.core.state import current
from fedikit.core.streaming.streams import (
    DEFAULT_SCOPES,
    PUBLIC_STREAMS,
    SCOPES,
    Stream,
    StreamError,
    channels_of,
    resolve,
    token_channel,
)
from fedikit.plugin_api import Subscription

log = logging.getLogger("fedikit.streaming")

Event = tuple[list[str], str, str | None]  # the stream's label, the event name, the payload (a JSON text or an id)

# What each stream passes on; "update" and "status.update" are checked against its timeline.
EVENTS = {
    "user": {"update", "status.update", "delete", "notification", "filters_changed"},
    "user:notification": {"notification"},
    "direct": {"conversation"},
}
TIMELINE_EVENTS = {"update", "status.update", "delete"}


STOPPING = threading.Event()
"""Set when the process is shutting down: open streams end (clients reconnect, to another process if need be)."""


class Closed(Exception):
    """The stream must end: its token was revoked, or its user may no longer sign in."""


def authenticate(secret: str | None) -> AccessToken:
    """The live user token with this secret, or StreamError(401) as Mastodon answers."""
    if not secret:
        raise StreamError(401, "Missing access token")
    token = tokens.find(secret)
    if token is None or token.user is None or refusal(token.user) is not None:
        raise StreamError(401, "The access token is invalid")
    return token


class Connection:
    def __init__(self, token: AccessToken) -> None:
        self.token_id = token.id
        self.account_id = token.user.account.id
        self.scopes = scope_rules.parse(token.scopes)
        self.streams: list[Stream] = []
        self._pubsub = current().streaming
        self._subscription: Subscription | None = None
        self._timelines: dict[Stream, tuple[Any, str]] = {}  # each stream's query, built once
        self._resubscribe()  # from the start: a revocation must reach a socket that has no stream yet

    # ------------------------------------------------------------ subscribing

    def subscribe(self, name: str | None, params: Mapping[str, str]) -> Stream:
        """Add a stream (``StreamError`` if it is unknown or not allowed); idempotent."""
        viewer = self._viewer()
        stream = resolve(name, params, viewer)
        needed = SCOPES.get(stream.name, DEFAULT_SCOPES)
        if not any(scope_rules.granted(self.scopes, scope) for scope in needed):
            raise StreamError(401, "Access token does not have the required scopes")
        if stream not in self.streams:
            self.streams.append(stream)
            self._resubscribe()
        db.session.rollback()
        return stream

    def unsubscribe(self, name: str | None, params: Mapping[str, str]) -> None:
        before = len(self.streams)
        tag = (params.get("tag") or "").strip().lstrip("#").lower()
        list_id = str(params.get("list") or "")
        self.streams = [
            s
            for s in self.streams
            if not (s.name == name and (not tag or s.tag.lower() == tag) and (not list_id or str(s.list_id) == list_id))
        ]
        if len(self.streams) != before:
            self._resubscribe()

    def _resubscribe(self) -> None:
        channels = {token_channel(self.token_id)}
        for stream in self.streams:
            channels.update(channels_of(stream, self.account_id))
        old, self._subscription = self._subscription, self._pubsub.subscribe(sorted(channels))
        if old is not None:
            old.close()

    def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    # ------------------------------------------------------------ receiving

    def wait(self, timeout: float) -> list[Event]:
        """The events for this viewer that arrive within ``timeout`` seconds (maybe none). Raises Closed."""
        if self._subscription is None:
            raise Closed
        deadline = time.monotonic() + timeout
        received = []
        got = self._subscription.get(timeout=timeout)
        while got is not None:
            received.append(got)
            if len(received) >= 100 or time.monotonic() >= deadline:
                break
            got = self._subscription.get(timeout=0)
        if not received:
            return []
        try:
            return [event for channel, text in received for event in self._handle(channel, text)]
        finally:
            db.session.rollback()  # end the transaction: no database connection is held while waiting

    def check(self) -> None:
        """Raise Closed if the token or its user may no longer stream (run at each heartbeat)."""
        try:
            token = db.session.get(AccessToken, self.token_id)
            if (
                token is None
                or token.revoked_at is not None
                or (token.expires_at is not None and token.expires_at <= utcnow())
                or token.user is None
                or refusal(token.user) is not None
            ):
                raise Closed
        finally:
            db.session.rollback()

    def _viewer(self) -> Account:
        viewer = db.session.get(Account, self.account_id)
        if viewer is None:
            raise Closed
        return viewer

    def _handle(self, channel: str, text: str) -> list[Event]:
        try:
            body = json.loads(text)
            event, id_ = str(body["event"]), body.get("id")
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed streaming message on %s", channel)
            return []
        if event == "kill" and channel == token_channel(self.token_id):
            raise Closed
        viewer = self._viewer()
        out: list[Event] = []
        for stream in self.streams:
            if channel not in channels_of(stream, self.account_id):
                continue
            allowed = EVENTS.get(stream.name, TIMELINE_EVENTS)
            if event not in allowed:
                continue
            payload = self._payload(stream, event, id_, viewer)
            if payload is not False:
                out.append((stream.label, event, payload))
        return out

    def _payload(self, stream: Stream, event: str, id_: Any, viewer: Account) -> str | None | bool:
        """The payload for ``viewer``, None for an event without one, False to send nothing."""
        from fedikit.core.api.serializers.conversations import conversations as conversation_entities
        from fedikit.core.api.serializers.notifications import notifications as notification_entities
        from fedikit.core.api.serializers.statuses import status as status_entity
        from fedikit.core.services import conversations

        if event == "filters_changed":
            return None
        if not isinstance(id_, int):
            return False
        if event == "delete":
            return str(id_)
        if event == "notification":
            found = db.session.get(Notification, id_)
            if found is None or found.account_id != viewer.id:
                return False
            return _dumps(notification_entities(viewer, [found])[0])
        if event == "conversation":
            try:
                view = conversations.owned(viewer, id_)
            except NotFound:
                return False
            return _dumps(conversation_entities(viewer, [view])[0])
        if stream not in self._timelines:
            self._timelines[stream] = _timeline(stream, viewer)
        query, timeline = self._timelines[stream]
        if query is None:
            return False
        status = timelines.admitted(query, id_, viewer, timeline)
        return False if status is None else _dumps(status_entity(viewer, status))


def _timeline(stream: Stream, viewer: Account) -> tuple[Any, str]:
    """The query of the timeline a stream follows, and the timeline's name for ``timeline_admit``."""
    name = stream.name
    if name == "user":
        return timelines.home_statuses(viewer), "home"
    if name == "list":
        owned = db.session.get(AccountList, stream.list_id)
        if owned is None or owned.account_id != viewer.id:
            return None, ""
        return timelines.list_statuses(owned), f"list:{owned.id}"
    if name in PUBLIC_STREAMS:
        local, remote, media = ":local" in name, ":remote" in name, name.endswith(":media")
        query = timelines.public_statuses(viewer, local=local, remote=remote, only_media=media)
        return query, "public:local" if local else "public"
    if name.startswith("hashtag"):
        local = name == "hashtag:local"
        return timelines.tag_statuses(viewer, stream.tag, local=local), f"tag:{stream.tag.lower()}"
    return None, ""


def _dumps(entity: Any) -> str:
    return json.dumps(entity, ensure_ascii=False, separators=(",", ":"))
