"""The ``fedikit`` command, as an admin uses it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fedikit.core.cli import cli
from fedikit.plugin_api.testing import make_app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return {
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_ENV_FILE": str(empty),
        "LOCAL_DOMAIN": "cli.example",
        "SECRET_KEY_BASE": "cli-test-secret",
    }


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def sign_in(app: Any, login: str, password: str) -> Any:
    client = app.test_client()
    client.get("/auth/sign_in")
    with client.session_transaction() as session:
        csrf = session["csrf"]
    return client, client.post("/auth/sign_in", data={"email": login, "password": password, "csrf": csrf})


def app_for(env: dict[str, str]) -> Any:
    return make_app({k: v for k, v in env.items() if k != "FEDIKIT_ENV_FILE"}, data_dir=env["FEDIKIT_DATA_DIR"])


def test_db_upgrade(env: dict[str, str]) -> None:
    result = run(env, "db", "upgrade")
    assert result.exit_code == 0 and "Database is up to date." in result.output
    assert run(env, "db", "upgrade").exit_code == 0  # twice is fine


def test_accounts_create_prints_a_password_that_signs_in(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(env, "accounts", "create", "alice", "--email", "alice@example.com", "--confirmed", "--role", "admin")
    assert result.exit_code == 0, result.output
    password = re.search(r"New password: (\S+)", result.output).group(1)
    client, response = sign_in(app_for(env), "alice@example.com", password)
    assert response.status_code == 302
    assert "Signed in as <strong>@alice</strong> (admin)" in client.get("/").text


def test_accounts_create_with_password_and_errors(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    result = run(env, "accounts", "create", "bob", "--email", "bob@example.com", "--password", "long enough pw")
    assert result.exit_code == 0 and "New password" not in result.output
    again = run(env, "accounts", "create", "BOB", "--email", "other@example.com")
    assert again.exit_code == 1 and "username 'BOB' is taken" in again.output
    bad = run(env, "accounts", "create", "no spaces", "--email", "x@example.com")
    assert bad.exit_code == 1 and "must be 1-30 letters" in bad.output
    email = run(env, "accounts", "create", "carol", "--email", "carol%evil@example.com")
    assert email.exit_code == 1 and "is not valid" in email.output


def test_ensure_owner_creates_once(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    first = run(env, "accounts", "ensure-owner")
    assert first.exit_code == 0
    login = re.search(r"login:\s+(\S+)", first.output).group(1)
    password = re.search(r"password:\s+(\S+)", first.output).group(1)
    assert login == "owner@cli.example"
    assert "https://cli.example/auth/sign_in" in first.output
    second = run(env, "accounts", "ensure-owner")
    assert "Owner account exists" in second.output and password not in second.output
    _, response = sign_in(app_for(env), login, password)
    assert response.status_code == 302


def test_accounts_modify_reset_password(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    run(env, "accounts", "create", "dana", "--email", "dana@example.com", "--password", "old password 1", "--confirmed")
    result = run(env, "accounts", "modify", "dana", "--reset-password", "--role", "moderator")
    new_password = re.search(r"New password: (\S+)", result.output).group(1)
    app = app_for(env)
    assert sign_in(app, "dana", "old password 1")[1].status_code == 401
    assert sign_in(app, "dana", new_password)[1].status_code == 302
    missing = run(env, "accounts", "modify", "nobody", "--confirm")
    assert missing.exit_code == 1 and "no local account named 'nobody'" in missing.output


def test_accounts_modify_approve(env: dict[str, str]) -> None:
    from fedikit.core.services.accounts import create_local_account

    run(env, "db", "upgrade")
    app = app_for(env)
    with app.app_context():
        create_local_account("erin", "erin@example.com", "pending password", confirmed=True, approved=False)
    _, waiting = sign_in(app, "erin", "pending password")
    assert waiting.status_code == 401 and "waiting for approval" in waiting.text
    assert run(env, "accounts", "modify", "erin", "--approve").exit_code == 0
    assert sign_in(app_for(env), "erin", "pending password")[1].status_code == 302


def test_plugins_list_shows_every_bundled_plugin_and_the_backends(env: dict[str, str]) -> None:
    result = run(env, "plugins", "list")
    assert result.exit_code == 0, result.output
    for plugin in (
        "local_auth",
        "plain_text",
        "sql_feeds",
        "inline_queue",
        "local_media",
        "sql_search",
        "memory_pubsub",
        "nodeinfo",
        "webfinger",
    ):
        assert re.search(rf"^{plugin}  0\.1\.0  \(fedikit; entry point\)$", result.output, re.M), plugin
    assert "hooks: authenticate" in result.output
    for line in (
        "feeds      sql  (plugin sql_feeds; embedded default)",
        "queue      inline  (plugin inline_queue; embedded default)",
        "media      local  (plugin local_media; embedded default)",
        "search     sql  (plugin sql_search; embedded default)",
        "streaming  memory  (plugin memory_pubsub; embedded default)",
    ):
        assert line in result.output


def test_misconfiguration_is_one_clear_line(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["plugins", "list"], env={**env, "FEEDS_BACKEND": "nosuch"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: FEEDS_BACKEND=nosuch: no loaded plugin offers a feeds backend named 'nosuch' (offered: redis, sql)"
    ]


def test_env_file_option(env: dict[str, str], tmp_path: Path) -> None:
    chosen = tmp_path / "chosen.env"
    chosen.write_text("LOCAL_DOMAIN=chosen.example\n")
    environ = {k: v for k, v in env.items() if k not in ("FEDIKIT_ENV_FILE", "LOCAL_DOMAIN")}
    run(environ, "--env-file", str(chosen), "db", "upgrade")
    result = run(environ, "--env-file", str(chosen), "accounts", "ensure-owner")
    assert "owner@chosen.example" in result.output
    missing = CliRunner().invoke(cli, ["--env-file", str(tmp_path / "nope.env"), "plugins", "list"], env=environ)
    assert missing.exit_code != 0


def test_plugin_command_groups_run_in_an_app_context(env: dict[str, str], tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "searchtools.py").write_text(
        "import click\n"
        "from flask import current_app\n"
        "from fedikit.plugin_api import hookimpl\n"
        "@hookimpl\n"
        "def register_commands(cli):\n"
        "    @cli.group()\n"
        "    def search():\n"
        "        'Search index tasks.'\n"
        "    @search.command()\n"
        "    def deploy():\n"
        "        click.echo('deploying on ' + current_app.config['LOCAL_DOMAIN'])\n"
    )
    result = run({**env, "FEDIKIT_PLUGINS_DIR": str(plugins)}, "search", "deploy")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "deploying on cli.example"


def test_jobs_queued_by_a_command_run_before_it_exits(env: dict[str, str]) -> None:
    run(env, "db", "upgrade")
    run(env, "accounts", "create", "findme", "--email", "findme@example.com", "--password", "long enough pw")
    app = app_for(env)
    with app.app_context():
        from fedikit.core.services import search

        assert [a.username for a in search.accounts("findme")] == ["findme"]
