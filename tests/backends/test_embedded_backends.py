"""The embedded default backends pass their conformance suites (on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from fedikit.plugin_api.conformance import (
    CacheConformance,
    FeedStoreConformance,
    JobQueueConformance,
    MediaStoreConformance,
    PubSubConformance,
    SearchIndexConformance,
)


class TestSqlFeeds(FeedStoreConformance):
    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {**database, "FEEDS_BACKEND": "sql"}


class TestInlineQueue(JobQueueConformance):
    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {**database, "QUEUE_BACKEND": "inline"}

    def test_drain_does_not_wait_for_a_job_due_after_its_timeout(self, fedikit_app: Flask) -> None:
        # A poll's end is queued for when the poll closes; shutting down (which drains) must not sit it out.
        from fedikit.core.jobs import enqueue

        enqueue("conformance.record", value=1, delay=3600)
        started = time.monotonic()
        assert fedikit_app.extensions["fedikit"].queue.drain(30) is False
        assert time.monotonic() - started < 1


class TestLocalMedia(MediaStoreConformance):
    @pytest.fixture
    def fedikit_config(self) -> dict[str, Any]:
        return {"MEDIA_BACKEND": "local"}


class TestSqlSearch(SearchIndexConformance):
    @pytest.fixture
    def fedikit_config(self, database: dict[str, str]) -> dict[str, Any]:
        return {**database, "SEARCH_BACKEND": "sql"}


class TestMemoryPubSub(PubSubConformance):
    @pytest.fixture
    def fedikit_config(self) -> dict[str, Any]:
        return {"STREAMING_BACKEND": "memory"}


class TestMemoryCache(CacheConformance):
    @pytest.fixture
    def fedikit_config(self) -> dict[str, Any]:
        return {"CACHE_BACKEND": "memory"}

    def test_is_not_shared(self, fedikit_app: Flask) -> None:
        assert fedikit_app.extensions["fedikit"].cache.shared is False

    def test_is_bounded(self, fedikit_app: Flask) -> None:
        cache = fedikit_app.extensions["fedikit"].cache
        cache.MAX_ENTRIES = 3
        for n in range(10):
            cache.set(f"k{n}", str(n), 60)
        assert [cache.get(f"k{n}") for n in (0, 6, 7, 8, 9)] == [None, None, "7", "8", "9"]
