"""Testing kit for plugin authors, registered as a pytest plugin when fedikit is installed.

Fixtures (override ``fedikit_config`` and ``fedikit_plugins`` in a conftest or
test class to shape the app)::

    def test_health(fedikit_client):
        assert fedikit_client.get("/health").text == "OK"

Helpers: :func:`make_app` builds a migrated app in a throw-away folder;
:func:`register_plugin` registers a plugin object for the length of a ``with``
block; :func:`record_hooks` records every hook call; :func:`settle` waits for
background jobs. Conformance suites for backends are in
:mod:`fedikit.plugin_api.conformance`.

This is the one part of ``plugin_api`` that builds an app, so it is the one
part that imports fedikit's core.
"""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedikit.plugin_api.markers import hookimpl

TEST_DEFAULTS: dict[str, Any] = {
    "LOCAL_DOMAIN": "fedikit.test",
    "SECRET_KEY_BASE": "not-a-secret-only-for-tests",
    "JOB_RETRY_SCALE": 0.0,
    "TESTING": True,
}


def make_app(
    config: Mapping[str, Any] | None = None,
    *,
    plugins: Sequence[object] = (),
    environ: Mapping[str, str] | None = None,
    data_dir: str | None = None,
    migrate: bool = True,
) -> Flask:
    """An app on an empty, migrated database in ``data_dir`` (a new temporary folder by default).

    The process environment and any ``.env.production`` are ignored unless
    ``environ`` is given; ``config`` overrides :data:`TEST_DEFAULTS`.
    """
    from fedikit.core.app import create_app
    from fedikit.core.database import upgrade

    settings = {**TEST_DEFAULTS, "FEDIKIT_DATA_DIR": data_dir or tempfile.mkdtemp(prefix="fedikit-test-")}
    settings.update(config or {})
    app = create_app(settings, environ=environ or {}, env_file=False, extra_plugins=plugins)
    if migrate:
        upgrade(app)
    return app


def settle(app: Flask, timeout: float = 10.0) -> None:
    """Wait until the app's job queue has run everything queued (and what that queued)."""
    if not app.extensions["fedikit"].queue.drain(timeout):
        raise AssertionError(f"background jobs still running after {timeout}s")


def close_app(app: Flask) -> None:
    """Stop the app's background work and release its database connections."""
    from fedikit.core.db import db

    state = app.extensions["fedikit"]
    state.queue.drain(5)
    state.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextlib.contextmanager
def register_plugin(app: Flask, plugin: object, name: str | None = None) -> Iterator[object]:
    """Register ``plugin`` with ``app``'s plugin manager inside the block only.

    Hooks that ``create_app`` already consulted (backends, blueprints, config)
    are not consulted again; to test those, pass the plugin to
    ``make_app(plugins=[...])`` or the ``fedikit_plugins`` fixture.
    """
    pm = app.extensions["fedikit"].pm
    registered = pm.register(plugin, name=name)
    try:
        yield plugin
    finally:
        pm.unregister(name=registered)


@dataclasses.dataclass(frozen=True)
class HookCall:
    name: str
    kwargs: dict[str, Any]


class HookRecorder:
    """Every hook call made while it is registered, in order."""

    def __init__(self) -> None:
        self.calls: list[HookCall] = []

    def of(self, name: str) -> list[HookCall]:
        return [call for call in self.calls if call.name == name]

    def called(self, name: str) -> bool:
        return bool(self.of(name))

    def names(self) -> list[str]:
        return [call.name for call in self.calls]


def _recorder_plugin(recorder: HookRecorder, pm: Any) -> object:
    """A plugin implementing every hook (tryfirst, answering None) that records its calls.

    pluggy reads an implementation's argument names from its code object, so
    each recording function is compiled with exactly its hook's parameters.
    """
    plugin = type("HookRecorderPlugin", (), {})()

    def record(name: str, kwargs: dict[str, Any]) -> None:
        recorder.calls.append(HookCall(name, kwargs))

    for name in dir(pm.hook):
        spec = getattr(getattr(pm.hook, name), "spec", None)
        if name.startswith("_") or spec is None:
            continue
        params = ", ".join(spec.argnames)
        captured = ", ".join(f"{arg!r}: {arg}" for arg in spec.argnames)
        namespace: dict[str, Any] = {"_record": record}
        exec(f"def {name}({params}):\n    _record({name!r}, {{{captured}}})", namespace)  # noqa: S102
        setattr(plugin, name, hookimpl(tryfirst=True)(namespace[name]))
    return plugin


@contextlib.contextmanager
def record_hooks(app: Flask) -> Iterator[HookRecorder]:
    """Record the hook calls made inside the block (events included)."""
    recorder = HookRecorder()
    pm = app.extensions["fedikit"].pm
    with register_plugin(app, _recorder_plugin(recorder, pm), name="fedikit-hook-recorder"):
        yield recorder


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def fedikit_config() -> dict[str, Any]:
    """Config for ``fedikit_app``; override it to choose backends or settings."""
    return {}


@pytest.fixture
def fedikit_plugins() -> Sequence[object]:
    """Plugin objects registered with ``fedikit_app`` as if installed; override to add yours."""
    return ()


@pytest.fixture
def fedikit_app(fedikit_config: dict[str, Any], fedikit_plugins: Sequence[object], tmp_path: Any) -> Iterator[Flask]:
    """A migrated app with an app context pushed for the test."""
    app = make_app(fedikit_config, plugins=fedikit_plugins, data_dir=str(tmp_path / "instance-data"))
    with app.app_context():
        yield app
    close_app(app)


@pytest.fixture
def fedikit_client(fedikit_app: Flask) -> FlaskClient:
    return fedikit_app.test_client()
