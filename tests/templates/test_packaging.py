"""Where ``fedikit new`` finds its templates, and that the wheel ships every template file."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import click
import pytest

from fedikit.core.cli import new as new_module

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIRS = ("instance_template", "plugin_template")


def test_root_offers_both_templates_as_nested_templates():
    root = json.loads((REPO_ROOT / "cookiecutter.json").read_text())
    templates = root["templates"]
    assert set(templates) == {"instance", "plugin"}
    for name, folder in new_module.TEMPLATES.items():
        assert Path(templates[name]["path"]).name == folder
        assert (REPO_ROOT / templates[name]["path"] / "cookiecutter.json").is_file()
        assert templates[name]["title"] and templates[name]["description"]


def test_every_template_file_is_installed_with_the_wheel():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    data_files = pyproject["tool"]["setuptools"]["data-files"]
    installed = {
        (Path(target) / Path(source).name).as_posix(): source
        for target, sources in data_files.items()
        for source in sources
    }
    expected = {"cookiecutter.json"}
    for folder in TEMPLATE_DIRS:
        for path in (REPO_ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                expected.add(path.relative_to(REPO_ROOT).as_posix())
    prefix = new_module.DATA_SUBDIR.as_posix()
    assert {f"{prefix}/{source}" for source in expected} == set(installed)
    assert all(installed[f"{prefix}/{source}"] == source for source in expected)


def test_templates_are_found_in_the_source_checkout():
    assert new_module.templates_root() == REPO_ROOT


def test_templates_are_found_where_the_wheel_puts_them(tmp_path: Path):
    installed = tmp_path / new_module.DATA_SUBDIR
    (installed / "instance_template").mkdir(parents=True)
    (installed / "plugin_template").mkdir()
    for path in ("cookiecutter.json", "instance_template/cookiecutter.json", "plugin_template/cookiecutter.json"):
        (installed / path).write_text("{}")
    assert new_module.templates_root([tmp_path / "site-packages", installed]) == installed


def test_fedikit_templates_names_the_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FEDIKIT_TEMPLATES", str(tmp_path))
    with pytest.raises(click.ClickException, match="FEDIKIT_TEMPLATES"):
        new_module.templates_root()
    monkeypatch.setenv("FEDIKIT_TEMPLATES", str(REPO_ROOT))
    assert new_module.templates_root() == REPO_ROOT


def test_extra_answers_must_be_questions_the_template_asks():
    known = ["instance_name", "local_domain", "__prompts__"]
    assert new_module.parse_extra(["local_domain=a.example=b"], known) == {"local_domain": "a.example=b"}
    with pytest.raises(click.BadParameter, match="KEY=VALUE"):
        new_module.parse_extra(["local_domain"], known)
    with pytest.raises(click.BadParameter, match="unknown key 'domain'"):
        new_module.parse_extra(["domain=a.example"], known)
