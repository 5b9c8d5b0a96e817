"""/api/v2/filters: filter groups, their keywords and their statuses."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from flask import abort, jsonify, request

from fedikit.core.api import params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers.filters import filter_entity, filter_keyword, filter_status
from fedikit.core.services import filters as service
from fedikit.core.services.filters import KeywordChange

ATTRIBUTES = "keywords_attributes"
_INDEXED = re.compile(r"^keywords_attributes\[([^\]]*)\]\[([a-z_]+)\]$")
MAX_KEYWORD_ATTRIBUTES = 1000


def _pairs() -> list[tuple[str, Any]]:
    """``keywords_attributes`` parameters in the order sent (JSON, query string, urlencoded or multipart form)."""
    out: list[tuple[str, Any]] = []
    if request.is_json:
        body = request.get_json(silent=True)
        value = body.get(ATTRIBUTES) if isinstance(body, dict) else None
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    out += [(f"{ATTRIBUTES}[{index}][{k}]", v) for k, v in item.items()]
        elif isinstance(value, dict):
            for index, item in value.items():
                if isinstance(item, dict):
                    out += [(f"{ATTRIBUTES}[{index}][{k}]", v) for k, v in item.items()]
        return out
    raw = parse_qsl(request.query_string.decode("utf-8", "replace"), keep_blank_values=True)
    body = request.get_data(cache=True, as_text=True) if request.mimetype == "application/x-www-form-urlencoded" else ""
    if body:  # read before the form is parsed (see the views): the order of the fields is kept
        raw += parse_qsl(body, keep_blank_values=True)
    else:
        raw += [(k, v) for k in request.form for v in request.form.getlist(k)]
    return [(k, v) for k, v in raw if k.startswith(ATTRIBUTES)]


def _keyword_changes() -> list[KeywordChange]:
    """Rails' reading of ``keywords_attributes[][field]`` (a new entry when a field repeats) or ``[N][field]``."""
    entries: list[dict[str, Any]] = []
    indexed: dict[str, dict[str, Any]] = {}
    for key, value in _pairs():
        found = _INDEXED.match(key)
        if found is None:
            continue
        index, field = found.groups()
        if index == "":
            if not entries or field in entries[-1]:
                entries.append({})
            entries[-1][field] = value
        else:
            if index not in indexed:
                indexed[index] = {}
                entries.append(indexed[index])
            indexed[index][field] = value
        if len(entries) > MAX_KEYWORD_ATTRIBUTES:
            abort(422, "Too many keywords")
    return [_change(entry) for entry in entries]


def _flag(value: Any, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("1", "true", "t", "on", "yes"):
        return True
    if lowered in ("0", "false", "f", "off", "no"):
        return False
    abort(422, f"{name} must be true or false")


def _change(entry: dict[str, Any]) -> KeywordChange:
    raw_id = entry.get("id")
    raw_id = None if raw_id is None else str(raw_id)
    keyword = entry.get("keyword")
    return KeywordChange(
        id=params.ident(raw_id) if raw_id else None,
        raw_id=raw_id,
        keyword=None if keyword is None else str(keyword),
        whole_word=_flag(entry.get("whole_word"), "whole_word"),
        destroy=bool(_flag(entry.get("_destroy"), "_destroy")),
    )


def _optional_boolean(name: str) -> bool | None:
    return params.boolean(name) if params.fields().get(name) is not None else None


def _context() -> list[str] | None:
    data = params.fields()
    if "context[]" not in data and "context" not in data:
        return None
    return params.array("context")


def _mine(raw_id: str):  # noqa: ANN202
    return service.owned_filter(current_account(), params.ident(raw_id))


# ---------------------------------------------------------------- filter groups


@scoped("read:filters")
def index():  # noqa: ANN201
    return jsonify([filter_entity(f) for f in service.filters_of(current_account())])


@scoped("write:filters")
def create():  # noqa: ANN201
    keywords = _keyword_changes()  # first: it reads the raw body, in order
    made = service.create_filter(
        current_account(),
        title=params.text("title"),
        context=_context() or [],
        action=params.text("filter_action") or None,
        expires_in=params.text("expires_in"),
        keywords=keywords,
    )
    return jsonify(filter_entity(made))


@scoped("read:filters")
def show(id: str):  # noqa: ANN201, A002
    return jsonify(filter_entity(_mine(id)))


@scoped("write:filters")
def update(id: str):  # noqa: ANN201, A002
    keywords = _keyword_changes()  # first: it reads the raw body, in order
    found = _mine(id)
    extra: dict[str, Any] = {}
    if "expires_in" in params.fields():
        extra["expires_in"] = params.text("expires_in")
    changed = service.update_filter(
        found,
        title=params.text("title"),
        context=_context(),
        action=params.text("filter_action") or None,
        keywords=keywords,
        **extra,
    )
    return jsonify(filter_entity(changed))


@scoped("write:filters")
def destroy(id: str):  # noqa: ANN201, A002
    service.destroy_filter(_mine(id))
    return jsonify({})


# ---------------------------------------------------------------- keywords


@scoped("read:filters")
def keywords(filter_id: str):  # noqa: ANN201
    found = _mine(filter_id)
    return jsonify([filter_keyword(k) for k in sorted(found.keywords, key=lambda k: k.id)])


@scoped("write:filters")
def add_keyword(filter_id: str):  # noqa: ANN201
    made = service.add_keyword(_mine(filter_id), params.text("keyword"), _optional_boolean("whole_word"))
    return jsonify(filter_keyword(made))


@scoped("read:filters")
def show_keyword(id: str):  # noqa: ANN201, A002
    return jsonify(filter_keyword(service.owned_keyword(current_account(), params.ident(id))))


@scoped("write:filters")
def update_keyword(id: str):  # noqa: ANN201, A002
    found = service.owned_keyword(current_account(), params.ident(id))
    changed = service.update_keyword(found, params.text("keyword"), _optional_boolean("whole_word"))
    return jsonify(filter_keyword(changed))


@scoped("write:filters")
def destroy_keyword(id: str):  # noqa: ANN201, A002
    service.destroy_keyword(service.owned_keyword(current_account(), params.ident(id)))
    return jsonify({})


# ---------------------------------------------------------------- statuses


@scoped("read:filters")
def statuses(filter_id: str):  # noqa: ANN201
    found = _mine(filter_id)
    return jsonify([filter_status(s) for s in sorted(found.statuses, key=lambda s: s.id)])


@scoped("write:filters")
def add_status(filter_id: str):  # noqa: ANN201
    made = service.add_status(_mine(filter_id), params.ident(params.text("status_id")))
    return jsonify(filter_status(made))


@scoped("read:filters")
def show_status(id: str):  # noqa: ANN201, A002
    return jsonify(filter_status(service.owned_status(current_account(), params.ident(id))))


@scoped("write:filters")
def destroy_status(id: str):  # noqa: ANN201, A002
    service.destroy_status(service.owned_status(current_account(), params.ident(id)))
    return jsonify({})
