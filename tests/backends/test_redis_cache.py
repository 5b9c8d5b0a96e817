"""The Redis cache passes the Cache conformance suite, is shared between processes, and fails clearly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from flask import Flask

from fedikit.plugin_api import BackendError
from fedikit.plugin_api.conformance import CacheConformance

pytestmark = pytest.mark.redis


class TestRedisCache(CacheConformance):
    @pytest.fixture
    def fedikit_config(self, redis_config: dict[str, str]) -> dict[str, Any]:
        return {**redis_config, "CACHE_BACKEND": "redis"}

    def test_chosen_by_redis_url_and_shared(self, fedikit_app: Flask) -> None:
        cache = fedikit_app.extensions["fedikit"].cache
        assert type(cache).__name__ == "RedisCache" and cache.shared is True

    def test_another_process_counts_on(self, fedikit_app: Flask, redis_config: dict[str, str]) -> None:
        cache = fedikit_app.extensions["fedikit"].cache
        assert cache.incr("limit:x", 60) == 1
        script = textwrap.dedent(
            f"""
            from fedikit.plugins.redis_cache.cache import RedisCache
            print(RedisCache({redis_config["REDIS_URL"]!r}, namespace={redis_config["REDIS_NAMESPACE"]!r}).incr(
                "limit:x", 60))
            """
        )
        done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=30)
        assert done.stdout.strip() == "2"


def test_cache_redis_url_wins_and_an_unreachable_redis_is_a_backend_error(tmp_path: Any) -> None:
    from fedikit.plugin_api.testing import close_app, make_app

    app = make_app(
        {"CACHE_REDIS_URL": "redis://127.0.0.1:9/0", "REDIS_URL": "", "FEDIKIT_DATA_DIR": str(tmp_path)},
        data_dir=str(tmp_path),
    )
    try:
        cache = app.extensions["fedikit"].cache
        assert type(cache).__name__ == "RedisCache"
        with pytest.raises(BackendError, match="unavailable"):
            cache.incr("x", 1)
    finally:
        close_app(app)
