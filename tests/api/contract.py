"""Checking API answers against Mastodon's OpenAPI description (the contract).

``validate(data, "Status")`` checks ``data`` against ``components.schemas.Status``
of ``schema.json``, found at ``$FEDIKIT_MASTODON_OPENAPI`` or beside the
checkout in ``../shared/mastodon-openapi/schema.json``; without it, the test
is skipped with the reason shown.

Formats: ``uri`` (absolute, with a scheme) and ``date-time`` are asserted;
other formats (``email``, ``iso-639-1``...) are annotations only, as JSON Schema
2020-12 has them by default.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ENV = "FEDIKIT_MASTODON_OPENAPI"
DEFAULT_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "mastodon-openapi" / "schema.json"
BASE_URI = "urn:fedikit:mastodon-openapi"


def schema_path() -> Path:
    return Path(os.environ[ENV]) if os.environ.get(ENV) else DEFAULT_PATH


@functools.cache
def _document() -> dict[str, Any] | None:
    path = schema_path()
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def document() -> dict[str, Any]:
    """The OpenAPI document; skips the calling test when it is not there (fails in CI, where it always is)."""
    doc = _document()
    if doc is None:
        message = f"Mastodon's OpenAPI description is not at {schema_path()} (set {ENV} to its path)"
        if os.environ.get("FEDIKIT_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return doc


def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())

    @checker.checks("uri", raises=ValueError)
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        if not parts.scheme or any(ch.isspace() for ch in value):
            raise ValueError(f"{value!r} is not an absolute URI")
        if parts.scheme in ("http", "https", "ws", "wss") and not parts.netloc:
            raise ValueError(f"{value!r} has no host")
        return True

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if "T" not in value.upper() or dt.datetime.fromisoformat(value.replace("z", "Z")).tzinfo is None:
            raise ValueError(f"{value!r} is not an RFC 3339 date-time")
        return True

    return checker


@functools.cache
def _validator(schema_name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    doc = _document()
    if schema_name not in doc.get("components", {}).get("schemas", {}):
        raise KeyError(f"components.schemas has no {schema_name!r}")
    registry = Registry().with_resource(BASE_URI, Resource(contents=doc, specification=DRAFT202012))
    schema = {"$ref": f"{BASE_URI}#/components/schemas/{schema_name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=_format_checker())


def _lines(error: Any) -> list[str]:
    """Where and what; inside a ``oneOf``, every error of the branch that nearly fitted."""
    from jsonschema.exceptions import best_match

    best = best_match([error]) if error.context else error
    if best is not error:
        while best.parent is not None and best.parent is not error:
            best = best.parent
        branch = best.relative_schema_path[0]
        return [line for sub in error.context if sub.relative_schema_path[0] == branch for line in _lines(sub)]
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
    return [f"{where}: {message}"]


def errors(data: Any, schema_name: str) -> list[str]:
    """Every way ``data`` breaks ``components.schemas[schema_name]``, as readable lines."""
    document()
    found = sorted(_validator(schema_name).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [line for e in found for line in _lines(e)]


def validate(data: Any, schema_name: str) -> None:
    """Fail the test, listing every problem, unless ``data`` is a valid ``schema_name``."""
    problems = errors(data, schema_name)
    if problems:
        pytest.fail(f"not a valid {schema_name}:\n  " + "\n  ".join(problems), pytrace=False)


def validate_list(data: Any, schema_name: str) -> None:
    """A JSON array whose every item is a valid ``schema_name``."""
    assert isinstance(data, list), f"expected a list of {schema_name}, got {type(data).__name__}"
    problems = [f"[{i}] {p}" for i, item in enumerate(data) for p in errors(item, schema_name)]
    if problems:
        pytest.fail(f"not a list of valid {schema_name}:\n  " + "\n  ".join(problems), pytrace=False)
