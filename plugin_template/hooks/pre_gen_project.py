"""Refuse a plugin name that cannot be a Python module name."""

import re
import sys

slug = "{{ cookiecutter.plugin_slug }}"

if not re.fullmatch(r"[a-z][a-z0-9_]*", slug):
    sys.exit(f"plugin_slug: {slug!r} must start with a letter and use only a-z, 0-9 and _")
