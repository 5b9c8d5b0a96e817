"""The instance as the tests see it: this project's plugins, on a throw-away database.

The fixtures ``fedikit_app`` and ``fedikit_client`` come from fedikit's testing
kit, which pytest loads by itself once fedikit is installed.
"""

from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def fedikit_config():
    return {
        "FEDIKIT_PLUGINS_DIR": str(PROJECT_DIR / "plugins"),
        "RULES_BLOCKED_WORDS": "forbiddenword",
        "RULES_SENSITIVE_WORDS": "spoiler",
    }
