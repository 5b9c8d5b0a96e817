"""One subscribing Redis connection per process, fanned out to local subscriptions.

A listener thread owns the subscribing connection: it alone talks to it,
applying the subscribe/unsubscribe changes that local subscriptions ask for
between reads, so no two threads ever share that socket. When Redis goes
away the listener reconnects with a growing pause and subscribes again to
every channel still wanted; messages published meanwhile are lost, as with
any Redis pub/sub (a stream is live, not a log).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Sequence
from typing import Any

import redis

from fedikit.plugin_api import BufferedSubscription

log = logging.getLogger("fedikit.streaming.redis")

SUBSCRIBER_BUFFER = 1000  # messages a slow subscriber may fall behind before it misses some


class RedisPubSub:
    cross_process = True

    def __init__(self, url: str, *, namespace: str = "fedikit") -> None:
        self._prefix = f"{namespace}:"
        self._client = redis.Redis.from_url(
            url, socket_connect_timeout=3, socket_timeout=5, health_check_interval=30, decode_responses=True
        )
        self._url = url
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[RedisSubscription]] = {}
        self._changes: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._listener: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------ publishing

    def publish(self, channel: str, message: str) -> None:
        self._client.publish(self._prefix + channel, message)

    def active_channels(self) -> set[str]:
        """Channels someone subscribes to now, on any process sharing this Redis and namespace."""
        names = self._client.pubsub_channels(f"{_escape(self._prefix)}*")
        return {name.removeprefix(self._prefix) for name in names}

    # ------------------------------------------------------------ subscribing

    def subscribe(self, channels: Sequence[str]) -> RedisSubscription:
        subscription = RedisSubscription(self, tuple(channels))
        with self._lock:
            for channel in subscription.channels:
                members = self._subscribers.setdefault(channel, set())
                if not members:
                    self._changes.put(("subscribe", channel))
                members.add(subscription)
            self._start()
        subscription.wait_ready()
        return subscription

    def _unsubscribe(self, subscription: RedisSubscription) -> None:
        with self._lock:
            for channel in subscription.channels:
                members = self._subscribers.get(channel)
                if members is None:
                    continue
                members.discard(subscription)
                if not members:
                    del self._subscribers[channel]
                    self._changes.put(("unsubscribe", channel))

    def close(self) -> None:
        self._closed = True
        with self._lock:
            subscriptions = {s for members in self._subscribers.values() for s in members}
        for subscription in subscriptions:
            subscription.close()
        if self._listener is not None:
            self._listener.join(timeout=5)
        self._client.close()

    def _start(self) -> None:
        if self._listener is None or not self._listener.is_alive():
            self._listener = threading.Thread(target=self._listen, name="fedikit-redis-pubsub", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        pause = 0.1
        while not self._closed:
            pubsub = self._client.pubsub(ignore_subscribe_messages=False)
            try:
                with self._lock:
                    wanted = list(self._subscribers)
                    while not self._changes.empty():  # a fresh connection starts from what is wanted now
                        self._changes.get_nowait()
                if wanted:
                    pubsub.subscribe(*(self._prefix + c for c in wanted))
                else:
                    pubsub.subscribe(self._prefix + "\x00idle")  # a connection must subscribe to something to read
                pause = 0.1
                self._pump(pubsub)
            except redis.RedisError as exc:
                if self._closed:
                    break
                log.warning("Redis pub/sub connection lost (%s); reconnecting in %.1fs", exc, pause)
                time.sleep(pause)
                pause = min(pause * 2, 5.0)
            finally:
                with contextlib.suppress(redis.RedisError):
                    pubsub.close()

    def _pump(self, pubsub: Any) -> None:
        while not self._closed:
            while not self._changes.empty():
                action, channel = self._changes.get_nowait()
                getattr(pubsub, action)(self._prefix + channel)
            item = pubsub.get_message(timeout=0.1)
            if item is None:
                continue
            kind, name = item["type"], item["channel"]
            channel = name.removeprefix(self._prefix) if isinstance(name, str) else ""
            with self._lock:
                members = list(self._subscribers.get(channel, ()))
            if kind == "message":
                for subscription in members:
                    subscription.deliver(channel, item["data"])
            elif kind == "subscribe":
                for subscription in members:
                    subscription.confirm(channel)


def _escape(text: str) -> str:
    """``text`` as a literal in a Redis glob pattern."""
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


class RedisSubscription(BufferedSubscription):
    """A buffered subscription that also knows when Redis has confirmed its channels."""

    def __init__(self, hub: RedisPubSub, channels: tuple[str, ...]) -> None:
        super().__init__(channels, hub._unsubscribe, buffer=SUBSCRIBER_BUFFER)
        self._hub = hub
        self._pending = set(channels)
        self._ready = threading.Event()
        if not channels:
            self._ready.set()

    def confirm(self, channel: str) -> None:
        self._pending.discard(channel)
        if not self._pending:
            self._ready.set()

    def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait until Redis confirms the channels that were new (at most ``timeout``): nothing published after
        ``subscribe`` returns is missed. Channels another local subscription already had count at once."""
        with self._hub._lock:
            already = {c for c in self._pending if len(self._hub._subscribers.get(c, ())) > 1}
        for channel in already:
            self.confirm(channel)
        if not self._ready.wait(timeout):
            log.warning("Redis did not confirm a subscription within %.0fs", timeout)
