"""Bundled plugins' tests: each test may shape the app's config with a ``settings`` fixture (parametrize it)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def fedikit_config(database: dict[str, str], settings: dict[str, Any]) -> dict[str, Any]:
    return {**database, **settings}
