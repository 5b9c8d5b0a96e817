"""Discovery, selection and registration of plugins, and the errors a bad setup gets."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fedikit.core.app import create_app
from fedikit.plugin_api import StartupError
from fedikit.plugin_api.testing import make_app, record_hooks

BUNDLED = {
    *("local_auth", "plain_text", "sql_feeds", "inline_queue", "local_media", "sql_search", "memory_pubsub"),
    "memory_cache",
}


def config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"FEDIKIT_DATA_DIR": str(tmp_path / "data"), "LOCAL_DOMAIN": "plugins.test", **extra}


def loaded(app: Any) -> set[str]:
    return {info.name for info in app.extensions["fedikit"].plugins}


def test_every_bundled_plugin_loads_by_default(tmp_path: Path) -> None:
    app = create_app(config(tmp_path), environ={}, env_file=False)
    assert loaded(app) >= BUNDLED
    info = {i.name: i for i in app.extensions["fedikit"].plugins}["sql_feeds"]
    assert (info.distribution, info.source) == ("fedikit", "entry point")
    assert info.hooks(app.extensions["fedikit"].pm) == ["register_backends"]


def test_disabled_plugin_is_not_loaded(tmp_path: Path) -> None:
    # Without its search plugin the instance cannot start, and says which setting to look at.
    with pytest.raises(StartupError, match="SEARCH_BACKEND: no search backend named 'sql' is loaded"):
        create_app(config(tmp_path, FEDIKIT_DISABLED_PLUGINS="sql_search"), environ={}, env_file=False)
    refusal = r"SEARCH_BACKEND=sql: .*\(offered: elasticsearch; disabled plugins: sql_search\)"
    with pytest.raises(StartupError, match=refusal):
        create_app(
            config(tmp_path, FEDIKIT_DISABLED_PLUGINS="sql_search", SEARCH_BACKEND="sql"), environ={}, env_file=False
        )


def test_allow_list_loads_only_what_it_names(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="no feeds backend named 'sql' is loaded"):
        create_app(config(tmp_path, FEDIKIT_PLUGINS="local_auth,plain_text"), environ={}, env_file=False)
    names = "local_auth,plain_text,sql_feeds,inline_queue,local_media,sql_search,memory_pubsub,memory_cache"
    app = create_app(config(tmp_path, FEDIKIT_PLUGINS=names), environ={}, env_file=False)
    assert loaded(app) == BUNDLED


def test_allow_list_naming_a_missing_plugin_fails(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="FEDIKIT_PLUGINS: plugin 'nonesuch' is not installed"):
        create_app(config(tmp_path, FEDIKIT_PLUGINS="nonesuch"), environ={}, env_file=False)


def test_required_hooks_must_be_implemented(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="no plugin implements render_status_html: enable a content renderer"):
        create_app(config(tmp_path, FEDIKIT_DISABLED_PLUGINS="plain_text"), environ={}, env_file=False)


def test_misspelt_hook_fails_at_startup(tmp_path: Path) -> None:
    from fedikit.plugin_api import hookimpl

    class Typo:
        name = "typo"

        @hookimpl
        def status_create(self, status: Any) -> None:  # should be status_created
            pass

    with pytest.raises(StartupError, match="plugin 'typo' implements 'status_create', which is not a fedikit hook"):
        make_app(config(tmp_path), plugins=[Typo()], migrate=False)


def test_plugins_folder(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    (folder / "packaged").mkdir(parents=True)
    (folder / "counter.py").write_text(
        "from fedikit.plugin_api import hookimpl\n"
        "SEEN = []\n"
        "@hookimpl\n"
        "def status_created(status):\n"
        "    SEEN.append(status.id)\n"
    )
    (folder / "packaged" / "__init__.py").write_text(
        "from fedikit.plugin_api import hookimpl\nfrom .helper import DEFAULTS\n"
        "@hookimpl\ndef config_defaults():\n    return DEFAULTS\n"
    )
    (folder / "packaged" / "helper.py").write_text("DEFAULTS = {'PACKAGED': 'yes'}\n")
    (folder / "_private.py").write_text("raise RuntimeError('never imported')\n")
    app = make_app(config(tmp_path, FEDIKIT_PLUGINS_DIR=str(folder)))
    assert {"counter", "packaged"} <= loaded(app)
    assert app.config["PACKAGED"] == "yes"
    with app.app_context():
        from fedikit.core.services import accounts, statuses

        author = accounts.create_local_account("alice", "alice@example.com", "correct horse battery").account
        status = statuses.post(author, "counted")
    assert [status.id] == sys.modules["fedikit_local_plugins.counter"].SEEN
    disabled = create_app(
        config(tmp_path, FEDIKIT_PLUGINS_DIR=str(folder), FEDIKIT_DISABLED_PLUGINS="counter"),
        environ={},
        env_file=False,
    )
    assert "counter" not in loaded(disabled)


def test_broken_plugin_in_folder_names_itself(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text("import not_a_module_anywhere\n")
    with pytest.raises(StartupError, match=r"plugin 'broken' from .*broken.py failed to import: ModuleNotFoundError"):
        create_app(config(tmp_path, FEDIKIT_PLUGINS_DIR=str(folder)), environ={}, env_file=False)


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution built from its own pyproject and installed into a folder on sys.path."""
    source = tmp_path / "fedikit-throwaway"
    (source / "fedikit_throwaway").mkdir(parents=True)
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["setuptools>=69"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "fedikit-throwaway"
            version = "0.3.1"

            [project.entry-points."fedikit.plugins"]
            throwaway = "fedikit_throwaway"
            broken_throwaway = "fedikit_throwaway.broken"
            """
        )
    )
    (source / "fedikit_throwaway" / "__init__.py").write_text(
        textwrap.dedent(
            """
            from fedikit.plugin_api import hookimpl

            @hookimpl
            def config_defaults():
                return {"THROWAWAY": "loaded"}

            @hookimpl
            def status_created(status):
                status.account.display_name  # reads the record like a real plugin would
            """
        )
    )
    (source / "fedikit_throwaway" / "broken.py").write_text("raise ImportError('this plugin is broken on purpose')\n")
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
    )
    monkeypatch.syspath_prepend(str(site))
    return site


@pytest.mark.slow
def test_installed_plugin_is_discovered_runs_and_can_be_disabled(tmp_path: Path, installed_plugin: Path) -> None:
    with pytest.raises(StartupError, match=r"plugin 'broken_throwaway' from fedikit-throwaway failed to import"):
        create_app(config(tmp_path), environ={}, env_file=False)

    app = make_app(config(tmp_path, FEDIKIT_DISABLED_PLUGINS="broken_throwaway"))
    info = {i.name: i for i in app.extensions["fedikit"].plugins}["throwaway"]
    assert (info.distribution, info.version) == ("fedikit-throwaway", "0.3.1")
    assert app.config["THROWAWAY"] == "loaded"
    with app.app_context(), record_hooks(app) as recorder:
        from fedikit.core.services import accounts, statuses

        author = accounts.create_local_account("alice", "alice@example.com", "correct horse battery").account
        statuses.post(author, "hello")
    assert recorder.called("status_created")
    assert app.extensions["fedikit"].pm.get_plugin("throwaway").__name__ == "fedikit_throwaway"

    without = create_app(
        config(tmp_path, FEDIKIT_DISABLED_PLUGINS="throwaway,broken_throwaway"), environ={}, env_file=False
    )
    assert "throwaway" not in loaded(without)
    assert "THROWAWAY" not in without.config
