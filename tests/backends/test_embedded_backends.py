"""The embedded default backends pass their conformance suites (on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from fedikit.plugin_api.conformance import (
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
