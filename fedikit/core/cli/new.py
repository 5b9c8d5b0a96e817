"""``fedikit new``: generate an instance project or a plugin distribution from a template.

The templates are cookiecutter templates: ``instance_template/`` and
``plugin_template/``, side by side with a root ``cookiecutter.json`` that
offers both. They are found, in this order:

1. in the folder named by ``FEDIKIT_TEMPLATES``, if it is set;
2. next to the ``fedikit`` package, in a source checkout (also what an
   editable install sees);
3. in ``<prefix>/share/fedikit/templates``, where the wheel installs them as
   data files (see ``[tool.setuptools.data-files]`` in ``pyproject.toml``).

The chosen template is always named with cookiecutter's ``directory=``, so
``--no-input`` never falls back to the first template on offer.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

TEMPLATES = {"instance": "instance_template", "plugin": "plugin_template"}
DATA_SUBDIR = Path("share") / "fedikit" / "templates"
ENV_VAR = "FEDIKIT_TEMPLATES"


def _candidates() -> Iterator[Path]:
    if os.environ.get(ENV_VAR):
        yield Path(os.environ[ENV_VAR]).expanduser()
        return
    import fedikit

    yield Path(fedikit.__file__).resolve().parent.parent
    prefixes = [sysconfig.get_path("data"), sys.prefix, sys.base_prefix, sysconfig.get_path("data", "posix_user")]
    for prefix in dict.fromkeys(p for p in prefixes if p):
        yield Path(prefix) / DATA_SUBDIR


def is_templates_root(path: Path) -> bool:
    return (path / "cookiecutter.json").is_file() and all(
        (path / folder / "cookiecutter.json").is_file() for folder in TEMPLATES.values()
    )


def templates_root(candidates: Iterable[Path] | None = None) -> Path:
    """The folder holding ``cookiecutter.json`` and the template folders."""
    looked = []
    for path in _candidates() if candidates is None else candidates:
        if is_templates_root(path):
            return path
        looked.append(str(path))
    raise click.ClickException(
        "cannot find fedikit's project templates (looked in: "
        + ", ".join(looked)
        + f"); set {ENV_VAR} to a fedikit source checkout"
    )


def parse_extra(pairs: Iterable[str], known: Iterable[str]) -> dict[str, str]:
    known = [k for k in known if not k.startswith("_")]
    extra = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--extra")
        if key not in known:
            asked = ", ".join(known)
            raise click.BadParameter(f"unknown key {key!r}; the template asks for: {asked}", param_hint="--extra")
        extra[key] = value
    return extra


NEXT_STEPS = {
    "instance": [
        "cd {path}",
        "make run      # install, migrate, create the owner account, serve on http://127.0.0.1:3000",
        "make test     # run the instance's tests",
    ],
    "plugin": [
        "cd {path}",
        "python -m venv .venv",
        '.venv/bin/pip install -e ".[test]"',
        ".venv/bin/python -m pytest",
    ],
}


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option(
    "--template",
    "-t",
    type=click.Choice(sorted(TEMPLATES)),
    default="instance",
    show_default=True,
    help="What to generate: an instance project or a plugin distribution.",
)
@click.option("--no-input", is_flag=True, help="Ask nothing; use the defaults and --extra values.")
@click.option(
    "--extra",
    "-e",
    "extras",
    multiple=True,
    metavar="KEY=VALUE",
    help="Answer one of the template's questions (repeatable), e.g. --extra local_domain=example.com",
)
def new(directory: str, template: str, no_input: bool, extras: tuple[str, ...]) -> None:
    """Generate a new instance project (or plugin) inside DIRECTORY (default: here)."""
    from cookiecutter.exceptions import CookiecutterException, FailedHookException, OutputDirExistsException
    from cookiecutter.main import cookiecutter

    root = templates_root()
    folder = TEMPLATES[template]
    questions = json.loads((root / folder / "cookiecutter.json").read_text(encoding="utf-8"))
    extra_context = parse_extra(extras, questions)
    output_dir = Path(directory)
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        project = cookiecutter(
            str(root),
            directory=folder,
            output_dir=str(output_dir),
            no_input=no_input,
            extra_context=extra_context or None,
        )
    except OutputDirExistsException as exc:
        raise click.ClickException(f"{exc}; choose another name or folder") from None
    except FailedHookException as exc:
        raise click.ClickException(f"the template refused the answers: {exc}") from None
    except CookiecutterException as exc:
        raise click.ClickException(str(exc)) from None

    path = Path(project).resolve()
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    click.echo(f"Generated the {template} in {path}")
    click.echo("Next:")
    for line in NEXT_STEPS[template]:
        click.echo("  " + line.format(path=shown))
