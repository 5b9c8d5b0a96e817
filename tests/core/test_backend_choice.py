"""One backend per kind: chosen by name, derived from configured services, logged at startup."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from fedikit.plugin_api import BackendKind, StartupError, hookimpl
from fedikit.plugin_api.testing import make_app


class Offers:
    """A plugin offering named backends that wrap the embedded ones (so they really work)."""

    def __init__(self, name: str, offers: dict[BackendKind, list[str]]) -> None:
        self.name = name
        self.offers = offers
        self.built: list[tuple[BackendKind, str]] = []

    @hookimpl
    def register_backends(self, registry: Any) -> None:
        for kind, names in self.offers.items():
            for backend_name in names:
                registry.add(kind, backend_name, self._factory(kind, backend_name))

    def _factory(self, kind: BackendKind, backend_name: str) -> Any:
        def build(context: Any) -> Any:
            self.built.append((kind, backend_name))
            if kind is BackendKind.STREAMING:
                from fedikit.plugins.memory_pubsub.pubsub import MemoryPubSub

                hub = MemoryPubSub()
                hub.cross_process = backend_name == "shared"
                return hub
            if kind is BackendKind.MEDIA:
                from fedikit.plugins.local_media.store import LocalMediaStore

                return LocalMediaStore(context.data_dir / backend_name, "https://media.example")
            if kind is BackendKind.SEARCH:
                from fedikit.plugins.sql_search.index import SqlSearchIndex

                return SqlSearchIndex()
            from fedikit.plugins.sql_feeds.store import SqlFeedStore

            return SqlFeedStore()

        return build


def settings(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"FEDIKIT_DATA_DIR": str(tmp_path), **extra}


def chosen(app: Any) -> dict[str, tuple[str, str]]:
    return {str(k): (c.offer.name, c.offer.plugin) for k, c in app.extensions["fedikit"].choices.items()}


def test_embedded_defaults_and_startup_lines(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="fedikit")
    app = make_app(settings(tmp_path), migrate=False)
    assert chosen(app) == {
        "feeds": ("sql", "sql_feeds"),
        "queue": ("inline", "inline_queue"),
        "media": ("local", "local_media"),
        "search": ("sql", "sql_search"),
        "streaming": ("memory", "memory_pubsub"),
        "cache": ("memory", "memory_cache"),
    }
    lines = [r.getMessage() for r in caplog.records if r.name == "fedikit"]
    assert "feeds backend: sql (plugin sql_feeds; embedded default)" in lines
    assert len([line for line in lines if " backend: " in line]) == len(BackendKind)


def test_several_web_processes_without_services_share_streams_and_the_cache(tmp_path: Path) -> None:
    app = make_app(settings(tmp_path, WEB_CONCURRENCY="2"), migrate=False)
    picked = chosen(app)
    assert picked["streaming"] == ("sockets", "memory_pubsub") and picked["cache"] == ("sqlite", "memory_cache")
    assert picked["feeds"] == ("sql", "sql_feeds") and picked["queue"] == ("inline", "inline_queue")
    state = app.extensions["fedikit"]
    assert state.streaming.cross_process and state.cache.shared
    assert state.choices[BackendKind.CACHE].reason == "WEB_CONCURRENCY > 1 without services"
    # services, when configured, still win
    redis = make_app(settings(tmp_path, WEB_CONCURRENCY="2", REDIS_URL="redis://127.0.0.1:6379/9"), migrate=False)
    assert chosen(redis)["streaming"] == ("redis", "redis_pubsub") and chosen(redis)["cache"] == (
        "redis",
        "redis_cache",
    )


def test_only_the_chosen_factory_is_called(tmp_path: Path) -> None:
    plugin = Offers("extra_feeds", {BackendKind.FEEDS: ["fast", "slow"]})
    app = make_app(settings(tmp_path, FEEDS_BACKEND="fast"), plugins=[plugin], migrate=False)
    assert chosen(app)["feeds"] == ("fast", "extra_feeds")
    assert plugin.built == [(BackendKind.FEEDS, "fast")]


def test_configured_services_derive_the_choice(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    plugin = Offers("redis_like", {BackendKind.FEEDS: ["redis"], BackendKind.STREAMING: ["redis"]})
    bundled = "redis_feeds,redis_pubsub,rq_queue,redis_cache"  # the bundled Redis backends stand aside
    config = settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/9", FEDIKIT_DISABLED_PLUGINS=bundled)
    app = make_app(config, plugins=[plugin], migrate=False)
    picked = chosen(app)
    assert picked["feeds"] == ("redis", "redis_like") and picked["streaming"] == ("redis", "redis_like")
    # no "rq" queue is offered here: the embedded one is used, and the log says so
    assert picked["queue"] == ("inline", "inline_queue")
    assert "queue: 'rq' is not available, using 'inline'; set QUEUE_BACKEND to choose" in caplog.text
    assert app.extensions["fedikit"].choices[BackendKind.FEEDS].reason == "derived from the configured services"


def test_s3_and_es_flags_derive_their_backends(tmp_path: Path) -> None:
    plugin = Offers("cloud", {BackendKind.MEDIA: ["s3"], BackendKind.SEARCH: ["elasticsearch"]})
    config = settings(
        tmp_path, S3_ENABLED="true", ES_ENABLED="true", FEDIKIT_DISABLED_PLUGINS="s3_media,elasticsearch_search"
    )
    app = make_app(config, plugins=[plugin], migrate=False)
    assert chosen(app)["media"] == ("s3", "cloud") and chosen(app)["search"] == ("elasticsearch", "cloud")
    plain = make_app(
        settings(tmp_path, FEDIKIT_DISABLED_PLUGINS="s3_media,elasticsearch_search"), plugins=[plugin], migrate=False
    )
    assert chosen(plain)["media"] == ("local", "local_media") and chosen(plain)["search"] == ("sql", "sql_search")


def test_unknown_backend_name(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match=r"^MEDIA_BACKEND=ftp: no loaded plugin offers a media backend named 'ftp'"):
        make_app(settings(tmp_path, MEDIA_BACKEND="ftp"), migrate=False)


def test_duplicate_backend_names(tmp_path: Path) -> None:
    one = Offers("one", {BackendKind.FEEDS: ["shared"]})
    two = Offers("two", {BackendKind.FEEDS: ["shared"]})
    with pytest.raises(StartupError, match="plugins 'one' and 'two' both offer a feeds backend named 'shared'"):
        make_app(settings(tmp_path), plugins=[one, two], migrate=False)


def test_unknown_backend_kind(tmp_path: Path) -> None:
    class Odd:
        name = "odd"

        @hookimpl
        def register_backends(self, registry: Any) -> None:
            registry.add("thumbnails", "memory", lambda context: object())

    with pytest.raises(StartupError, match="plugin 'odd' offers a backend of unknown kind 'thumbnails'"):
        make_app(settings(tmp_path), plugins=[Odd()], migrate=False)


def test_backend_that_breaks_its_protocol(tmp_path: Path) -> None:
    class Broken:
        name = "broken"

        @hookimpl
        def register_backends(self, registry: Any) -> None:
            registry.add(BackendKind.SEARCH, "empty", lambda context: object())
            registry.add(BackendKind.QUEUE, "crash", lambda context: 1 / 0)

    with pytest.raises(
        StartupError, match="search backend 'empty' from plugin 'broken' does not implement SearchIndex"
    ):
        make_app(settings(tmp_path, SEARCH_BACKEND="empty"), plugins=[Broken()], migrate=False)
    with pytest.raises(StartupError, match="queue backend 'crash' from plugin 'broken' failed to start: ZeroDivision"):
        make_app(settings(tmp_path, QUEUE_BACKEND="crash"), plugins=[Broken()], migrate=False)


def test_several_web_processes_need_cross_process_streaming(tmp_path: Path) -> None:
    with pytest.raises(
        StartupError, match="WEB_CONCURRENCY=2: the streaming backend 'memory' works within one process"
    ):
        make_app(settings(tmp_path, WEB_CONCURRENCY="2", STREAMING_BACKEND="memory"), migrate=False)
    plugin = Offers("shared_streaming", {BackendKind.STREAMING: ["shared"]})
    app = make_app(settings(tmp_path, WEB_CONCURRENCY="2", STREAMING_BACKEND="shared"), plugins=[plugin], migrate=False)
    assert chosen(app)["streaming"] == ("shared", "shared_streaming")
