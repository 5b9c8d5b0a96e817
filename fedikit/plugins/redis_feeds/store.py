"""The feed store on Redis: one sorted set per feed, trimmed to the newest ``max_items`` ids.

Ordering is exact for any 64-bit id. Status ids are ``milliseconds << 16 |
sequence`` (about 2**62 today), and a sorted-set score is a double, which
holds integers exactly only up to 2**53: two ids a few units apart would get
the same score, and pages cut at ``max_id`` would lose or repeat statuses.
So every member gets score 0 and is the id as 16 zero-padded lowercase hex
digits: Redis orders equal scores by member bytes, which for fixed-width
hex is numeric order, and pages are lexicographic ranges (``ZRANGE ...
BYLEX``) with exact bounds. Ranks (for trimming and for the boost window)
follow the same order.

Boosts are de-duplicated as Mastodon does it: a boost is not added to a home
feed when the boosted status, or an earlier boost of it, is among that feed's
newest ``REBLOG_WINDOW`` entries. A hash beside each home feed remembers
which boost of an original went in last; it is pruned when it outgrows the
feed it describes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import redis

from fedikit.plugin_api import BackendError

BATCH = 1000  # commands per pipeline round trip: large enough to amortise latency, small enough for server buffers
REBLOG_WINDOW = 40  # Mastodon's FeedManager: a boost is skipped when its original is among the newest 40

# KEYS: feed, its boosts hash. ARGV: boost member, original member, max items, window.
# Returns 1 when the boost went in, 0 when it was skipped as a duplicate.
ADD_REBLOG = """
local feed, reblogs = KEYS[1], KEYS[2]
local member, original = ARGV[1], ARGV[2]
local max_items, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local rank = redis.call('ZREVRANK', feed, original)
if rank and rank < window then return 0 end
local prior = redis.call('HGET', reblogs, original)
if prior then
  rank = redis.call('ZREVRANK', feed, prior)
  if rank and rank < window then return 0 end
end
redis.call('ZADD', feed, 0, member)
redis.call('ZREMRANGEBYRANK', feed, 0, -(max_items + 1))
redis.call('HSET', reblogs, original, member)
if redis.call('HLEN', reblogs) > 2 * max_items then
  local pairs_ = redis.call('HGETALL', reblogs)
  for i = 1, #pairs_, 2 do
    if not redis.call('ZSCORE', feed, pairs_[i + 1]) then redis.call('HDEL', reblogs, pairs_[i]) end
  end
end
return 1
"""


class FeedsUnavailable(BackendError):
    """Redis did not answer: the API says 503 (as for any BackendError) rather than showing an empty feed."""


def member(status_id: int) -> str:
    """The sorted-set member for a status id: fixed-width hex, so byte order is numeric order."""
    if not 0 <= status_id < 1 << 64:
        raise ValueError(f"status id out of range: {status_id}")
    return f"{status_id:016x}"


class RedisFeedStore:
    precomputed = True

    def __init__(self, url: str, *, namespace: str = "fedikit", max_items: int = 400) -> None:
        pool = redis.ConnectionPool.from_url(
            url, socket_connect_timeout=3, socket_timeout=5, health_check_interval=30, decode_responses=True
        )
        self._redis = redis.Redis(connection_pool=pool)
        self._namespace = namespace
        self.max_items = max_items
        self._add_reblog = self._redis.register_script(ADD_REBLOG)

    def _key(self, feed: str) -> str:
        return f"{self._namespace}:feed:{feed}"

    def _reblogs_key(self, feed: str) -> str:
        return f"{self._namespace}:feed:{feed}:reblogs"

    def add(self, feeds: Sequence[str], status_id: int) -> None:
        value = member(status_id)
        trim_to = -(self.max_items + 1)
        with _unavailable_as_error():
            for chunk in _chunks(feeds, BATCH // 2):  # two commands per feed
                pipe = self._redis.pipeline(transaction=False)
                for feed in chunk:
                    key = self._key(feed)
                    pipe.zadd(key, {value: 0})
                    pipe.zremrangebyrank(key, 0, trim_to)
                pipe.execute()

    def add_reblog(self, feeds: Sequence[str], status_id: int, reblog_of_id: int) -> list[str]:
        """Add a boost, skipping the home feeds where its original (or a boost of it) is recent; the feeds it entered.

        List feeds take every boost, as they are short and topical.
        """
        value, original = member(status_id), member(reblog_of_id)
        homes = [feed for feed in feeds if feed.startswith("home:")]
        others = [feed for feed in feeds if not feed.startswith("home:")]
        if others:
            self.add(others, status_id)
        entered = list(others)
        with _unavailable_as_error():
            for chunk in _chunks(homes, BATCH):
                pipe = self._redis.pipeline(transaction=False)
                for feed in chunk:
                    self._add_reblog(
                        keys=[self._key(feed), self._reblogs_key(feed)],
                        args=[value, original, self.max_items, REBLOG_WINDOW],
                        client=pipe,
                    )
                entered += [feed for feed, added in zip(chunk, pipe.execute(), strict=True) if added]
        return entered

    def fill(self, feed: str, status_ids: Sequence[int]) -> None:
        """Merge many ids into one feed in one round trip (a rebuild or a merge on follow), then trim."""
        if not status_ids:
            return
        key = self._key(feed)
        with _unavailable_as_error():
            pipe = self._redis.pipeline(transaction=False)
            for chunk in _chunks(status_ids, BATCH):
                pipe.zadd(key, dict.fromkeys(map(member, chunk), 0))
            pipe.zremrangebyrank(key, 0, -(self.max_items + 1))
            pipe.execute()

    def remove(self, feeds: Sequence[str], status_id: int) -> None:
        value = member(status_id)
        with _unavailable_as_error():
            for chunk in _chunks(feeds, BATCH):
                pipe = self._redis.pipeline(transaction=False)
                for feed in chunk:
                    pipe.zrem(self._key(feed), value)
                pipe.execute()

    def ids(
        self,
        feed: str,
        *,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        limit: int = 20,
    ) -> list[int]:
        """Newest first; with ``min_id``, the ``limit`` ids just above it, still newest first."""
        if limit <= 0:
            return []
        lower = max((i for i in (since_id, min_id) if i is not None), default=None)
        low = "-" if lower is None or lower < 0 else f"({member(lower)}"
        if max_id is not None and max_id <= 0:
            return []
        high = "+" if max_id is None or max_id >= 1 << 64 else f"({member(max_id)}"
        if lower is not None and lower >= (1 << 64) - 1:
            return []
        key = self._key(feed)
        with _unavailable_as_error():
            if min_id is not None:  # the ids just above min_id: read upwards, answer newest first
                found = self._redis.zrange(key, low, high, bylex=True, offset=0, num=limit)
                return [int(value, 16) for value in reversed(found)]
            found = self._redis.zrange(key, high, low, desc=True, bylex=True, offset=0, num=limit)
        return [int(value, 16) for value in found]

    def clear(self, feed: str) -> None:
        with _unavailable_as_error():
            self._redis.delete(self._key(feed), self._reblogs_key(feed))

    def close(self) -> None:
        self._redis.close()
        self._redis.connection_pool.disconnect()


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@contextlib.contextmanager
def _unavailable_as_error() -> Iterator[None]:
    """Turn Redis's connection failures and timeouts into :class:`FeedsUnavailable`."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise FeedsUnavailable(f"the feed store (Redis) is unavailable: {exc}") from exc
