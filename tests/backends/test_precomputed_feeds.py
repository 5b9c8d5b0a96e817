"""Core's fan-out path (used by precomputed feed stores such as Redis) passes the feed suite.

``ListFeeds`` is a complete precomputed FeedStore kept in process memory,
offered by a plugin exactly as a third-party backend would be.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from fedikit.plugin_api import BackendKind, hookimpl
from fedikit.plugin_api.conformance import FeedStoreConformance


class ListFeeds:
    precomputed = True

    def __init__(self) -> None:
        self._feeds: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def add(self, feeds: Sequence[str], status_id: int) -> None:
        with self._lock:
            for feed in feeds:
                ids = self._feeds.setdefault(feed, [])
                position = bisect.bisect_left(ids, status_id)
                if position == len(ids) or ids[position] != status_id:
                    ids.insert(position, status_id)

    def remove(self, feeds: Sequence[str], status_id: int) -> None:
        with self._lock:
            for feed in feeds:
                ids = self._feeds.get(feed, [])
                if status_id in ids:
                    ids.remove(status_id)

    def ids(self, feed: str, *, max_id=None, since_id=None, min_id=None, limit: int = 20) -> list[int]:  # noqa: ANN001
        with self._lock:
            ids = list(self._feeds.get(feed, []))
        ids = [i for i in ids if (max_id is None or i < max_id) and (since_id is None or i > since_id)]
        if min_id is not None:
            return list(reversed([i for i in ids if i > min_id][:limit]))
        return list(reversed(ids))[:limit]

    def clear(self, feed: str) -> None:
        with self._lock:
            self._feeds.pop(feed, None)


class ListFeedsPlugin:
    name = "list_feeds"

    @hookimpl
    def register_backends(self, registry: Any) -> None:
        registry.add(BackendKind.FEEDS, "list", lambda context: ListFeeds())


class TestPrecomputedFeeds(FeedStoreConformance):
    @pytest.fixture
    def fedikit_plugins(self) -> list[object]:
        return [ListFeedsPlugin()]

    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {**database, "FEEDS_BACKEND": "list"}
