"""The Redis pub/sub backend passes the PubSub conformance suite, and carries messages between processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from flask import Flask

from fedikit.plugin_api.conformance import PubSubConformance

pytestmark = pytest.mark.redis


class TestRedisPubSub(PubSubConformance):
    @pytest.fixture
    def fedikit_config(self, redis_config: dict[str, str]) -> dict[str, Any]:
        return {**redis_config, "STREAMING_BACKEND": "redis"}

    def test_is_chosen_when_redis_is_configured(self, fedikit_app: Flask) -> None:
        state = fedikit_app.extensions["fedikit"]
        assert state.streaming.cross_process is True
        assert type(state.streaming).__name__ == "RedisPubSub"

    def test_active_channels_names_what_is_subscribed(self, fedikit_app: Flask) -> None:
        pubsub = fedikit_app.extensions["fedikit"].streaming
        subscription = pubsub.subscribe(["timeline:1", "timeline:public"])
        try:
            assert {"timeline:1", "timeline:public"} <= pubsub.active_channels()
        finally:
            subscription.close()

    def test_a_message_from_another_process_arrives(self, fedikit_app: Flask, redis_config: dict[str, str]) -> None:
        pubsub = fedikit_app.extensions["fedikit"].streaming
        subscription = pubsub.subscribe(["timeline:public"])
        try:
            script = textwrap.dedent(
                f"""
                from fedikit.plugins.redis_pubsub.pubsub import RedisPubSub
                RedisPubSub({redis_config["REDIS_URL"]!r}, namespace={redis_config["REDIS_NAMESPACE"]!r}).publish(
                    "timeline:public", "from afar")
                """
            )
            subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
            assert subscription.get(timeout=5) == ("timeline:public", "from afar")
        finally:
            subscription.close()

    def test_namespaces_do_not_hear_each_other(self, fedikit_app: Flask, redis_config: dict[str, str]) -> None:
        from fedikit.plugins.redis_pubsub.pubsub import RedisPubSub

        pubsub = fedikit_app.extensions["fedikit"].streaming
        other = RedisPubSub(redis_config["REDIS_URL"], namespace=redis_config["REDIS_NAMESPACE"] + "x")
        subscription = pubsub.subscribe(["c"])
        try:
            other.publish("c", "elsewhere")
            assert subscription.get(timeout=0.3) is None
        finally:
            subscription.close()
            other.close()
