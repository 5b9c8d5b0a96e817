"""Time-sortable 64-bit ids: milliseconds since the Unix epoch << 16 | 16 low bits.

Mastodon's scheme, so ids sort by time, page with ``max_id``/``min_id`` and
serve as Redis scores. Within a process the low bits count up from a random
start each millisecond, so ids are strictly increasing; across processes two
ids can only clash when both fall in one millisecond and draw the same low
bits (1 in 65,536 per pair), which the database's primary key refuses.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def next_id() -> int:
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _seq += 1
            if _seq > 0xFFFF:  # more than 65,536 ids in one millisecond: borrow the next one
                ms += 1
                _seq = secrets.randbelow(0x8000)
        else:
            _seq = secrets.randbelow(0x8000)
        _last_ms = ms
        return (ms << 16) | _seq


def id_at(when: dt.datetime) -> int:
    """An id for something created at ``when`` (a backdated remote post), random low bits.

    Most servers date posts to the second: a time without milliseconds gets a
    random millisecond within its second, so that a burst of posts dated the
    same second draws from 65 million ids, not 65 thousand.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    ms = int(when.timestamp() * 1000)
    if when.microsecond == 0:
        ms += secrets.randbelow(1000)
    return (ms << 16) | secrets.randbelow(0x10000)


def min_id_at(when: dt.datetime) -> int:
    """The smallest id that ``id_at(when)`` can produce: a bound for time-based queries."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000) << 16


def timestamp(id_: int) -> dt.datetime:
    return dt.datetime.fromtimestamp((id_ >> 16) / 1000, dt.UTC)
