"""A dict of (expiry, value), bounded: expired entries are swept now and then, the oldest go first when full."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class MemoryCache:
    shared = False

    SWEEP_EVERY = 10_000  # writes between sweeps of expired entries
    MAX_ENTRIES = 200_000  # past this, the entries written longest ago go

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._writes = 0

    def _live(self, key: str, now: float) -> str | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= now:
            del self._entries[key]
            return None
        return found[1]

    def _write(self, key: str, until: float, value: str) -> None:
        self._entries[key] = (until, value)
        self._entries.move_to_end(key)
        self._writes += 1
        if self._writes % self.SWEEP_EVERY == 0:
            now = self._clock()
            for stale in [k for k, (expiry, _) in self._entries.items() if expiry <= now]:
                del self._entries[stale]
        while len(self._entries) > self.MAX_ENTRIES:
            self._entries.popitem(last=False)

    def incr(self, key: str, ttl: int) -> int:
        now = self._clock()
        with self._lock:
            current = self._live(key, now)
            if current is None:
                self._write(key, now + ttl, "1")
                return 1
            count = int(current) + 1
            self._entries[key] = (self._entries[key][0], str(count))  # the window keeps its end
            return count

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._live(key, self._clock())

    def set(self, key: str, value: str, ttl: int, *, only_if_absent: bool = False) -> bool:
        now = self._clock()
        with self._lock:
            if only_if_absent and self._live(key, now) is not None:
                return False
            self._write(key, now + ttl, value)
            return True

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)
