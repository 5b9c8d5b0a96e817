"""Channels of bounded queues, one queue per subscriber."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from fedikit.plugin_api import BufferedSubscription

SUBSCRIBER_BUFFER = 1000  # messages a slow subscriber may fall behind before it misses some


class MemoryPubSub:
    cross_process = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[BufferedSubscription]] = {}

    def publish(self, channel: str, message: str) -> None:
        with self._lock:
            subscribers = list(self._subscribers.get(channel, ()))
        for subscription in subscribers:
            subscription.deliver(channel, message)

    def active_channels(self) -> set[str]:
        with self._lock:
            return set(self._subscribers)

    def subscribe(self, channels: Sequence[str]) -> BufferedSubscription:
        subscription = BufferedSubscription(channels, self._unsubscribe, buffer=SUBSCRIBER_BUFFER)
        with self._lock:
            for channel in subscription.channels:
                self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    def _unsubscribe(self, subscription: BufferedSubscription) -> None:
        with self._lock:
            for channel in subscription.channels:
                members = self._subscribers.get(channel)
                if members is not None:
                    members.discard(subscription)
                    if not members:
                        del self._subscribers[channel]
