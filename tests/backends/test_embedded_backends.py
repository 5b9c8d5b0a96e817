"""The embedded default backends pass their conformance suites (on SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path
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


def _in_another_process(data_dir: Path, code: str) -> str:
    """Run ``code`` in a new Python process; ``pubsub`` and ``cache`` there are this data directory's."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from fedikit.plugins.memory_pubsub.sockets import SocketPubSub
        from fedikit.plugins.memory_cache.sqlite import SQLiteCache
        pubsub = SocketPubSub(Path({str(data_dir)!r}) / "streaming")
        cache = SQLiteCache(Path({str(data_dir)!r}) / "cache.sqlite3")
        """
    ) + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=60).stdout


def _listener(folder: Path, then: str) -> subprocess.Popen:
    """A process subscribed to ``timeline:public`` through the sockets in ``folder``; it prints "listening",
    runs ``then`` (with ``subscription`` at hand), and closes."""
    script = (
        textwrap.dedent(
            f"""
        from pathlib import Path
        from fedikit.plugins.memory_pubsub.sockets import SocketPubSub
        pubsub = SocketPubSub(Path({str(folder)!r}))
        subscription = pubsub.subscribe(["timeline:public"])
        print("listening", flush=True)
        """
        )
        + textwrap.dedent(then)
        + "\npubsub.close()\n"
    )
    listener = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert listener.stdout is not None and listener.stdout.readline().strip() == "listening"
    return listener


class TestSocketPubSub(PubSubConformance):
    @pytest.fixture
    def fedikit_config(self) -> dict[str, Any]:
        return {"STREAMING_BACKEND": "sockets"}

    def test_messages_and_listeners_go_between_processes(self, fedikit_app: Flask) -> None:
        pubsub = fedikit_app.extensions["fedikit"].streaming
        assert pubsub.cross_process is True
        data_dir = fedikit_app.config["FEDIKIT_DATA_DIR"]
        subscription = pubsub.subscribe(["timeline:7"])
        try:
            heard = _in_another_process(
                data_dir,
                """
                print(sorted(c for c in pubsub.active_channels() if c.startswith("timeline:")))
                pubsub.publish("timeline:7", "from afar")
                pubsub.publish("timeline:8", "to no one")
                """,
            )
            assert heard.strip() == "['timeline:7']"
            assert subscription.get(timeout=5) == ("timeline:7", "from afar")
            assert subscription.get(timeout=0.3) is None
        finally:
            subscription.close()

    def test_a_subscriber_elsewhere_hears_this_process(self, fedikit_app: Flask) -> None:
        pubsub = fedikit_app.extensions["fedikit"].streaming
        folder = Path(fedikit_app.config["FEDIKIT_DATA_DIR"]) / "streaming"
        listener = _listener(folder, "print(subscription.get(timeout=20), flush=True)")
        try:
            assert "timeline:public" in pubsub.active_channels()
            pubsub.publish("timeline:public", "hello")
            assert listener.stdout.readline().strip() == "('timeline:public', 'hello')"
            assert listener.wait(timeout=20) == 0
        finally:
            listener.kill()
        assert list(folder.iterdir()) == []  # it removed its socket and its channels when it closed
        assert "timeline:public" not in pubsub.active_channels()

    def test_a_burst_reaches_another_process_whole_and_in_order(self, fedikit_app: Flask) -> None:
        # The kernel queues few datagrams per socket (net.unix.max_dgram_qlen, often 10): senders wait for room.
        pubsub = fedikit_app.extensions["fedikit"].streaming
        folder = Path(fedikit_app.config["FEDIKIT_DATA_DIR"]) / "streaming"
        listener = _listener(
            folder,
            """
            got = [subscription.get(timeout=20) for _ in range(300)]
            print(sum(1 for g in got if g is not None), [g[1] for g in got if g][:3], got[-1], flush=True)
            """,
        )
        try:
            started = time.monotonic()
            for n in range(300):
                pubsub.publish("timeline:public", f"m{n}")
            assert time.monotonic() - started < 10
            assert listener.stdout.readline().strip() == "300 ['m0', 'm1', 'm2'] ('timeline:public', 'm299')"
            assert listener.wait(timeout=20) == 0
        finally:
            listener.kill()

    def test_a_process_that_ended_is_forgotten(self, fedikit_app: Flask) -> None:
        pubsub = fedikit_app.extensions["fedikit"].streaming
        folder = Path(fedikit_app.config["FEDIKIT_DATA_DIR"]) / "streaming"
        listener = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import os, sys; from pathlib import Path; "
                "from fedikit.plugins.memory_pubsub.sockets import SocketPubSub; "
                f"SocketPubSub(Path({str(folder)!r})).subscribe(['timeline:9']); os._exit(0)",  # no goodbye
            ]
        )
        assert listener.wait(timeout=30) == 0
        assert "timeline:9" in pubsub.active_channels()  # its files are left behind
        pubsub.publish("timeline:9", "anyone?")  # finds its socket unread: both files go
        assert list(folder.glob(f"{listener.pid}.*")) == []
        assert "timeline:9" not in pubsub.active_channels()

    def test_oversized_messages_are_refused(self, fedikit_app: Flask) -> None:
        from fedikit.plugin_api import BackendError

        with pytest.raises(BackendError):
            fedikit_app.extensions["fedikit"].streaming.publish("timeline:public", "x" * 20_000)


class TestSQLiteCache(CacheConformance):
    @pytest.fixture
    def fedikit_config(self) -> dict[str, Any]:
        return {"CACHE_BACKEND": "sqlite"}

    def test_is_shared_between_processes(self, fedikit_app: Flask) -> None:
        cache = fedikit_app.extensions["fedikit"].cache
        assert cache.shared is True
        assert cache.incr("shared:count", 60) == 1
        cache.set("shared:key", "here", 60)
        seen = _in_another_process(
            fedikit_app.config["FEDIKIT_DATA_DIR"],
            """
            print(cache.incr("shared:count", 60), cache.get("shared:key"))
            print(cache.set("shared:key", "x", 60, only_if_absent=True))
            cache.set("shared:other", "there", 60)
            """,
        )
        assert seen.split() == ["2", "here", "False"]
        assert (cache.incr("shared:count", 60), cache.get("shared:other")) == (3, "there")
