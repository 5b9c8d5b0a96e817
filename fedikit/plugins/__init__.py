"""Bundled plugins. Each is declared in pyproject.toml under the `fedikit.plugins` entry points."""
