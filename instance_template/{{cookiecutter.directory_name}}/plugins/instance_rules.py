"""Instance rules: this instance's own moderation filter.

fedikit loads every module and package in this folder as a plugin
(``FEDIKIT_PLUGINS_DIR`` in ``.env.production``); this one is an example to
keep, change or delete.

- ``rules.txt`` holds the rules people agree to, one per line. The instance
  will not start without it, and logs how many rules it has.
- A post containing a word from ``RULES_BLOCKED_WORDS`` is refused.
- A post containing a word from ``RULES_SENSITIVE_WORDS`` is marked sensitive.

Both settings are comma-separated words in ``.env.production``; words match
whole and regardless of case.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fedikit.plugin_api import PostDraft, Reject, StartupError, hookimpl
from flask import current_app

log = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parent.parent


def read_rules(path: str | Path) -> list[str]:
    """The rules in ``path``: one per non-blank line, ``#`` starts a comment."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _words(value: Any) -> set[str]:
    return {word.strip().lower() for word in str(value or "").split(",") if word.strip()}


class RulesFilter:
    name = "instance_rules"

    def check(self, draft: PostDraft) -> PostDraft | None:
        config = current_app.config
        said = set(re.findall(r"\w+", f"{draft.spoiler_text} {draft.text}".lower()))
        if said & _words(config["RULES_BLOCKED_WORDS"]):
            raise Reject("This post breaks the rules of this instance.")
        if not draft.sensitive and said & _words(config["RULES_SENSITIVE_WORDS"]):
            return dataclasses.replace(draft, sensitive=True)
        return None


@hookimpl
def config_defaults() -> Mapping[str, Any]:
    return {
        "RULES_FILE": str(PROJECT_DIR / "rules.txt"),
        "RULES_BLOCKED_WORDS": "",
        "RULES_SENSITIVE_WORDS": "",
    }


@hookimpl
def validate_config(config: Mapping[str, Any]) -> None:
    path = Path(config["RULES_FILE"])
    if not path.is_file():
        raise StartupError(f"RULES_FILE: {path} does not exist; write the rules there")


@hookimpl
def register_moderation_filters() -> list[RulesFilter]:
    return [RulesFilter()]


@hookimpl
def startup(app: Any) -> None:
    rules = read_rules(app.config["RULES_FILE"])
    log.info("instance rules: %d rules from %s", len(rules), app.config["RULES_FILE"])
