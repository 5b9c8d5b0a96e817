"""Entities rendered once and reused, in this process: the read path's largest saving.

Rendering a Status costs more than finding it: its mentions, tags, media and
application take four queries and a few hundred dict entries, yet none of it
depends on who reads it. Such viewer-independent parts are kept here, keyed
by the row they came from *and the row's ``updated_at``*: every UPDATE of a
row sets a new ``updated_at`` (``TimestampMixin``), so a changed status or
account is looked up under a new key and an old render is never served for
it, in this process or any other. Nothing needs invalidating, and a render
made by a transaction that then rolls back is keyed by a stamp no committed
row carries.

What a render holds beyond its own row (custom emoji images, mentioned
accounts' URLs, media URLs, presigned ones included) is at most
``MAX_AGE`` seconds old: entries expire then. Values are shared: callers
copy before changing anything (the serializers build a new dict per use).

Per process on purpose: the values are Python objects, and a shared cache
would cost the (de)serialisation this saves. Bounded, least recently used
out first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy.orm.attributes import instance_state

MAX_AGE = 60.0  # seconds a render may be served
MAX_ENTRIES = 4000  # renders kept per process (a status's is about 2 KB)


def key_for(row: Any) -> tuple[str, int, Any] | None:
    """The key of ``row``'s render: its table, id and ``updated_at``; None for a row with changes not
    yet written (its ``updated_at`` is about to change): render it afresh."""
    state = instance_state(row)  # read directly: a page asks for a few dozen keys
    if state.key is None or state.modified:
        return None
    stamp = state.dict.get("updated_at")
    if stamp is None:  # expired since it was read: read it again
        stamp = row.updated_at
    return (row.__tablename__, state.key[1][0], stamp)


class Renders:
    def __init__(
        self, max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable | None) -> Any | None:
        if key is None:
            return None
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] <= self._clock():
                if found is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found[1]

    def put(self, key: Hashable | None, value: Any) -> None:
        if key is None or self.max_entries <= 0:
            return
        with self._lock:
            self._entries[key] = (self._clock() + self.max_age, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
