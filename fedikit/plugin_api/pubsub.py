"""A building block for PubSub backends: a subscription that buffers its messages in a bounded queue.

A backend's dispatcher (a publish in the same process, or a thread reading
a broker) hands each message to :meth:`BufferedSubscription.deliver` of
every subscription of its channel; the subscriber reads them with ``get``.
"""

from __future__ import annotations

import contextlib
import logging
import queue
from collections.abc import Callable, Iterator, Sequence

log = logging.getLogger("fedikit.streaming")

_CLOSED = ("", "")


class BufferedSubscription:
    """One subscriber's messages, in order; implements the :class:`~fedikit.plugin_api.Subscription` protocol.

    A subscriber that falls ``buffer`` messages behind misses the next ones
    (with a warning in the log): a live stream had better lose an event than
    hold memory without bound. ``on_close(subscription)`` is called once,
    when it closes, for the backend to forget it.
    """

    def __init__(
        self,
        channels: Sequence[str],
        on_close: Callable[[BufferedSubscription], None],
        *,
        buffer: int = 1000,
    ) -> None:
        self.channels = tuple(channels)
        self._on_close = on_close
        self._buffer = buffer
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue(buffer)
        self.closed = False

    def deliver(self, channel: str, message: str) -> None:
        try:
            self._queue.put_nowait((channel, message))
        except queue.Full:
            log.warning("subscriber to %s is %d messages behind; dropping one", channel, self._buffer)

    def get(self, timeout: float | None = None) -> tuple[str, str] | None:
        if self.closed:
            return None
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return None if item is _CLOSED or self.closed else item

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_CLOSED)  # wake a reader blocked in get()

    def __iter__(self) -> Iterator[tuple[str, str]]:
        while (item := self.get()) is not None:
            yield item
