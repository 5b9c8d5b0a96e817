"""Generating instance projects and plugin distributions, and running what they contain."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cookiecutter.main import cookiecutter

from fedikit.core.cli import cli

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]

INSTANCE_FILES = [
    ".env.production",
    ".gitignore",
    "Makefile",
    "README.md",
    "pyproject.toml",
    "rules.txt",
    "plugins/instance_rules.py",
    "tests/conftest.py",
    "tests/test_smoke.py",
]


def plugin_files(slug: str) -> list[str]:
    return [
        "README.md",
        "pyproject.toml",
        f"src/fedikit_{slug}/__init__.py",
        "tests/test_plugin.py",
    ]


def env_values(project: Path) -> dict[str, str]:
    values = {}
    for line in (project / ".env.production").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def fedikit_new(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["new", *args], catch_exceptions=False)
    return result.exit_code, result.output


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "FEDIKIT_", "COV_"))}
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def run_pytest(project: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project / "tests")],
        cwd=project,
        env=child_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


# ------------------------------------------------------------------ instance


def test_fedikit_new_generates_an_instance(tmp_path: Path):
    code, output = fedikit_new(
        str(tmp_path),
        "--no-input",
        "--extra",
        "instance_name=Town Square",
        "--extra",
        "local_domain=town.example",
        "-e",
        "owner_username=mayor",
    )
    assert code == 0, output
    project = tmp_path / "town-square"
    for name in INSTANCE_FILES:
        assert (project / name).is_file(), name
    assert str(project) in output
    assert "make run" in output

    env = env_values(project)
    assert env["LOCAL_DOMAIN"] == "town.example"
    assert env["LOCAL_HTTPS"] == "true"
    assert env["FEDIKIT_DATA_DIR"] == "./instance-data"
    assert env["FEDIKIT_PLUGINS_DIR"] == "plugins"
    assert re.fullmatch(r"[0-9a-f]{128}", env["SECRET_KEY_BASE"])
    assert (project / ".env.production").stat().st_mode & 0o077 == 0
    settings = (project / ".env.production").read_text()
    for commented in ("DATABASE_URL", "DB_HOST", "REDIS_URL", "S3_ENABLED", "ES_ENABLED"):
        assert f"# {commented}=" in settings, commented

    makefile = (project / "Makefile").read_text()
    assert "ensure-owner --username mayor --email mayor@town.example" in makefile
    assert '"fedikit>=0.1"' in (project / "pyproject.toml").read_text()


def test_each_instance_gets_its_own_secret_key(tmp_path: Path):
    for folder in ("one", "two"):
        code, output = fedikit_new(str(tmp_path / folder), "--no-input")
        assert code == 0, output
    first = env_values(tmp_path / "one" / "my-fedikit-instance")
    second = env_values(tmp_path / "two" / "my-fedikit-instance")
    assert first["LOCAL_DOMAIN"] == "localhost:3000"
    assert first["LOCAL_HTTPS"] == "false"
    assert len(first["SECRET_KEY_BASE"]) == 128
    assert first["SECRET_KEY_BASE"] != second["SECRET_KEY_BASE"]


def test_fedikit_new_refuses_what_the_instance_could_not_use(tmp_path: Path):
    code, output = fedikit_new(str(tmp_path), "--no-input", "--extra", "owner_username=not a name")
    assert code != 0
    assert "refused" in output
    assert not any(tmp_path.iterdir())

    code, output = fedikit_new(str(tmp_path), "--no-input", "--extra", "domain=town.example")
    assert code != 0
    assert "unknown key 'domain'" in output


def test_fedikit_new_does_not_overwrite_a_project(tmp_path: Path):
    assert fedikit_new(str(tmp_path), "--no-input")[0] == 0
    code, output = fedikit_new(str(tmp_path), "--no-input")
    assert code != 0
    assert "already exists" in output


def test_generated_instance_passes_its_smoke_test(tmp_path: Path):
    code, output = fedikit_new(str(tmp_path), "--no-input")
    assert code == 0, output
    project = tmp_path / "my-fedikit-instance"
    result = run_pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


# ------------------------------------------------------------------ plugin


def test_fedikit_new_generates_a_plugin(tmp_path: Path):
    code, output = fedikit_new(str(tmp_path), "--template", "plugin", "--no-input", "-e", "plugin_name=Word Count")
    assert code == 0, output
    project = tmp_path / "fedikit-word-count"
    for name in plugin_files("word_count"):
        assert (project / name).is_file(), name
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "fedikit-word-count"' in pyproject
    assert '[project.entry-points."fedikit.plugins"]\nword_count = "fedikit_word_count"' in pyproject
    assert "from fedikit.plugin_api import" in (project / "src/fedikit_word_count/__init__.py").read_text()


def test_generated_plugin_passes_its_tests_once_installed(tmp_path: Path):
    code, output = fedikit_new(str(tmp_path / "src"), "-t", "plugin", "--no-input", "-e", "plugin_name=Echo")
    assert code == 0, output
    project = tmp_path / "src" / "fedikit-echo"
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index"]
    install = subprocess.run(
        [*pip, "--no-deps", "--no-build-isolation", "--target", str(site), str(project)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert (site / "fedikit_echo" / "__init__.py").is_file()

    result = run_pytest(project, PYTHONPATH=str(site))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


# ------------------------------------------------------------------ cookiecutter itself


@pytest.mark.parametrize(
    ("directory", "expected", "files"),
    [
        ("instance_template", "my-fedikit-instance", INSTANCE_FILES),
        ("plugin_template", "fedikit-hello", plugin_files("hello")),
    ],
)
def test_cookiecutter_on_the_repository_with_directory(tmp_path: Path, directory: str, expected: str, files: list[str]):
    project = Path(cookiecutter(str(REPO_ROOT), directory=directory, output_dir=str(tmp_path), no_input=True))
    assert project == tmp_path / expected
    for name in files:
        assert (project / name).is_file(), name
    assert not list(project.rglob("*{{*")), "unrendered names left"
    for path in project.rglob("*"):
        if path.is_file():
            assert "{{" not in path.read_text(), path
    if directory == "instance_template":
        assert re.fullmatch(r"[0-9a-f]{128}", env_values(project)["SECRET_KEY_BASE"])


def test_cookiecutter_on_the_repository_root_offers_the_nested_templates(tmp_path: Path):
    # Without directory=, cookiecutter >= 2.5 reads the root's "templates" and,
    # asking nothing, takes the first; fedikit new never relies on that.
    project = Path(cookiecutter(str(REPO_ROOT), output_dir=str(tmp_path), no_input=True))
    assert project == tmp_path / "my-fedikit-instance"
    assert (project / ".env.production").is_file()
