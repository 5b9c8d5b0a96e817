"""Keep cookiecutter's user config and replay files inside each test's temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cookiecutter_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(
        json.dumps({"cookiecutters_dir": str(home / "cookiecutters"), "replay_dir": str(home / "replay")})
    )
    monkeypatch.setenv("COOKIECUTTER_CONFIG", str(config))
    monkeypatch.delenv("FEDIKIT_TEMPLATES", raising=False)
    return home
