"""The ``fedikit`` command, modelled on ``tootctl``.

Built-in commands are listed here; plugins add theirs through the
``register_commands`` hook, and those are looked up (building the app) only
when a command is not built in, so ``fedikit new`` works with no instance.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from fedikit.plugin_api import StartupError

BUILTIN = {
    "serve": "fedikit.core.cli.serve:serve",
    "db": "fedikit.core.cli.admin:db_group",
    "accounts": "fedikit.core.cli.admin:accounts_group",
    "plugins": "fedikit.core.cli.admin:plugins_group",
    "domains": "fedikit.core.cli.admin:domains_group",
    "new": "fedikit.core.cli.new:new",
}


def _load(path: str) -> click.Command:
    import importlib

    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


class FedikitGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(BUILTIN)
        plugin_cli = _plugin_commands(ctx, quiet=True)
        if plugin_cli is not None:
            names |= set(plugin_cli.commands)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in BUILTIN:
            return _load(BUILTIN[name])
        plugin_cli = _plugin_commands(ctx, quiet=False)
        return plugin_cli.commands.get(name) if plugin_cli is not None else None


def _plugin_commands(ctx: click.Context, *, quiet: bool) -> click.Group | None:
    """The commands plugins register; using one pushes an app context for the rest of the run."""
    root = ctx.find_root()
    cached = root.meta.get("fedikit.plugin_cli")
    if cached is not None:
        return cached
    try:
        app = make_app(ctx)
    except StartupError as exc:
        if quiet:
            return None
        raise click.ClickException(str(exc)) from None
    group = click.Group()
    app.extensions["fedikit"].pm.hook.register_commands(cli=group)
    if not quiet:
        root.with_resource(app.app_context())  # sub-commands of plugin groups run inside it too
    root.meta["fedikit.plugin_cli"] = group
    return group


def make_app(ctx: click.Context) -> Any:
    """The app for this invocation (built once), honouring ``--env-file``.

    When the command finishes, queued background jobs are given time to run
    (an in-process queue would otherwise die with the process; a durable
    queue keeps them for its workers, so the command does not wait) and the
    backends are closed.
    """
    root = ctx.find_root()
    if "fedikit.app" not in root.meta:
        from fedikit.core.app import create_app

        app = create_app(env_file=root.params.get("env_file"))
        root.meta["fedikit.app"] = app
        root.call_on_close(lambda: _finish(app))
    return root.meta["fedikit.app"]


def _finish(app: Any) -> None:
    state = app.extensions["fedikit"]
    if not state.queue.durable and not state.queue.drain(60):
        click.echo("fedikit: background jobs still running after 60 s, or due later; stopping them", err=True)
    state.close()


@click.group(cls=FedikitGroup)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="FEDIKIT_ENV_FILE",
    help="Settings file to read (default: .env.production if it exists).",
)
@click.version_option(package_name="fedikit")
def cli(env_file: str | None) -> None:
    """Run and administer a fedikit instance."""


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("FEDIKIT_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("alembic.runtime.plugins", "stevedore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        cli.main(prog_name="fedikit", standalone_mode=True)
    except StartupError as exc:  # raised outside click's handling, e.g. while building the app
        click.echo(f"fedikit: {exc}", err=True)
        sys.exit(1)
