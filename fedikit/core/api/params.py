"""Request parameters as Mastodon clients send them: query string, form, multipart or JSON.

Booleans arrive as ``true/false/1/0``; arrays as ``key[]=`` (or repeated
``key=``, or a JSON array); unknown parameters are ignored.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request
from werkzeug.datastructures import MultiDict

from fedikit.core.config import bool_word


def _flatten(prefix: str, value: Any, out: MultiDict) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]" if prefix else str(key), inner, out)
    elif isinstance(value, list):
        for inner in value:
            if isinstance(inner, dict | list):
                _flatten(f"{prefix}[]", inner, out)
            else:
                out.add(f"{prefix}[]", inner)
    else:
        out.add(prefix, value)


def fields() -> MultiDict:
    """Every parameter of this request in one multi-dict (JSON objects flattened to ``a[b]`` keys)."""
    cached = getattr(request, "_fedikit_fields", None)
    if cached is not None:
        return cached
    out = MultiDict(request.args)
    if request.is_json:
        body = request.get_json(silent=True)
        if body is None and request.get_data():
            abort(422, "The request body is not valid JSON")
        if isinstance(body, dict):
            _flatten("", body, out)
    else:
        for key, values in request.form.lists():
            for value in values:
                out.add(key, value)
    request._fedikit_fields = out  # type: ignore[attr-defined]
    return out


def text(name: str, default: str | None = None) -> str | None:
    value = fields().get(name)
    if value is None:
        return default
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return str(value).replace("\x00", "")  # PostgreSQL cannot store NUL in text; no client means to send it


def boolean(name: str, default: bool = False) -> bool:
    value = fields().get(name)
    if value is None:
        return default
    parsed = bool_word(value)
    if parsed is None:
        abort(422, f"{name} must be true or false")
    return parsed


def integer(
    name: str, default: int | None = None, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    value = fields().get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        abort(422, f"{name} must be a whole number")
    if minimum is not None and number < minimum:
        return minimum
    if maximum is not None and number > maximum:
        return maximum
    return number


def array(name: str) -> list[str]:
    """``name[]`` values, else repeated ``name`` values (some clients omit the brackets)."""
    data = fields()
    values = data.getlist(f"{name}[]") or data.getlist(name)
    return [str(v) for v in values if v is not None and str(v) != ""]


MAX_ID = 2**63 - 1


def ident(value: Any) -> int | None:
    """A Mastodon id (a string of digits that fits a signed 64-bit integer) as an int, else None."""
    text_value = str(value or "")
    if not (text_value.isascii() and text_value.isdigit()) or len(text_value) > 19:
        return None
    number = int(text_value)
    return number if number <= MAX_ID else None
