"""Channels of bounded queues, one queue per subscriber."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator, Sequence

log = logging.getLogger("fedikit.streaming.memory")

SUBSCRIBER_BUFFER = 1000  # messages a slow subscriber may fall behind before it misses some


class MemoryPubSub:
    cross_process = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[MemorySubscription]] = {}

    def publish(self, channel: str, message: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(channel, ()))
        for subscription in subscribers:
            subscription.deliver(channel, message)

    def active_channels(self) -> set[str]:
        with self._lock:
            return set(self._subscribers)

    def subscribe(self, channels: Sequence[str]) -> MemorySubscription:
        subscription = MemorySubscription(self, tuple(channels))
        with self._lock:
            for channel in subscription.channels:
                self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    def _unsubscribe(self, subscription: MemorySubscription) -> None:
        with self._lock:
            for channel in subscription.channels:
                members = self._subscribers.get(channel)
                if members is not None:
                    members.discard(subscription)
                    if not members:
                        del self._subscribers[channel]


_CLOSED = ("", "")


class MemorySubscription:
    def __init__(self, hub: MemoryPubSub, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self._hub = hub
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue(SUBSCRIBER_BUFFER)
        self._closed = False

    def deliver(self, channel: str, message: str) -> None:
        try:
            self._queue.put_nowait((channel, message))
        except queue.Full:
            log.warning("subscriber to %s is %d messages behind; dropping one", channel, SUBSCRIBER_BUFFER)

    def get(self, timeout: float | None = None) -> tuple[str, str] | None:
        if self._closed:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if item is _CLOSED else item

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._hub._unsubscribe(self)
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_CLOSED)  # wake a reader blocked in get()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        while (item := self.get()) is not None:
            yield item
