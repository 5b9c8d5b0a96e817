"""Hooks that shape the application: config, routes, commands, migrations, startup."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedikit.plugin_api.markers import hookspec

if TYPE_CHECKING:
    import click
    from flask import Blueprint, Flask


@hookspec
def config_defaults() -> Mapping[str, Any] | None:
    """Default values for configuration keys the plugin reads.

    When: in ``create_app()``, right after plugins are loaded and before the
    configuration is validated.

    Semantics: all run. The mappings are merged and sit below every other
    source: a value set in the environment, the env file or the ``config``
    passed to ``create_app`` wins over a default. Two plugins giving different
    defaults for one key is a startup error.

    Arguments: none.

    Returns: a mapping of upper-case config keys to default values, or None.

    Since: 1.0
    """


@hookspec
def validate_config(config: Mapping[str, Any]) -> None:
    """Check the final configuration.

    When: in ``create_app()``, after config is merged and before plugins'
    backends are built.

    Semantics: all run; the first :class:`StartupError` stops startup with its
    message.

    Arguments: ``config``, the merged configuration (a read-only mapping).

    Returns: nothing; raise ``StartupError("VARIABLE: what is wrong")``.

    Since: 1.0
    """


@hookspec
def register_blueprints() -> Iterable[Blueprint] | None:
    """Flask blueprints that the plugin serves.

    When: in ``create_app()``, after backends are chosen, before ``startup``.

    Semantics: all run; every blueprint returned is registered on the app.

    Arguments: none.

    Returns: an iterable of ``flask.Blueprint`` objects, or None.

    Since: 1.0
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add sub-commands to the ``fedikit`` command line.

    When: when the ``fedikit`` command is asked for a command it does not have
    built in (or lists its commands), after loading plugins.

    Semantics: all run.

    Arguments: ``cli``, the ``click.Group`` of plugin commands; call
    ``cli.add_command(...)`` or decorate with ``@cli.command()``. Commands run
    inside an app context.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def register_migrations() -> str | Path | None:
    """A folder of Alembic revision files for the plugin's own tables.

    When: whenever core builds its Alembic configuration (``fedikit db
    upgrade``, tests, ``make run``).

    Semantics: all run; every folder is added to Alembic's version locations.
    A plugin's first revision sets ``branch_labels = ("<plugin name>",)`` and
    ``depends_on`` the core revision it builds on.

    Arguments: none.

    Returns: the folder path, or None.

    Since: 1.0
    """


@hookspec
def register_jobs() -> Mapping[str, Callable[..., None]] | None:
    """Background job handlers, by job name.

    When: in ``create_app()``, before backends are built.

    Semantics: all run; the mappings are merged, and two plugins naming the same
    job is a startup error. Core enqueues with ``enqueue(name, **args)`` (JSON
    values only; a job queued inside a transaction with uncommitted writes is
    sent when it commits); the chosen queue backend runs the handler in an app
    context with those keyword arguments, retrying it when it raises.

    Arguments: none.

    Returns: a mapping of job name (``"<plugin>.<verb>"`` by convention) to a
    function taking JSON-serialisable keyword arguments, or None. A function
    marked with :func:`fedikit.plugin_api.batch_job` instead takes a list of
    such keyword-argument mappings: the queue hands it many jobs at once when
    many wait (work arriving faster than one job at a time can keep up with,
    such as activities from other servers), each enqueued as usual.

    Since: 1.0 (batch jobs: 1.1)
    """


@hookspec
def startup(app: Flask) -> None:
    """The app is fully built.

    When: last step of ``create_app()``, after blueprints are registered and
    backends are built.

    Semantics: all run; a :class:`StartupError` stops startup.

    Arguments: ``app``, the Flask application.

    Returns: nothing.

    Since: 1.0
    """
