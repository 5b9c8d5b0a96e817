"""Filter, FilterKeyword, FilterStatus and FilterResult; and the ``filtered`` field of a Status."""

from __future__ import annotations

from typing import Any

from fedikit.core.api.serializers.common import iso
from fedikit.core.models import CustomFilter, FilterKeyword, FilterStatus, Status
from fedikit.core.services import filters as service


def filter_keyword(k: FilterKeyword) -> dict[str, Any]:
    return {"id": str(k.id), "keyword": k.keyword, "whole_word": bool(k.whole_word)}


def filter_status(s: FilterStatus) -> dict[str, Any]:
    return {"id": str(s.id), "status_id": str(s.status_id)}


def filter_entity(f: CustomFilter | service.ActiveFilter, *, rules: bool = True) -> dict[str, Any]:
    """A Filter; inside a FilterResult (``rules=False``, from a compiled filter) without its keywords and
    statuses."""
    data: dict[str, Any] = {
        "id": str(f.id),
        "title": f.title,
        "context": list(f.context or []),
        "expires_at": iso(f.expires_at),
        "filter_action": f.action,
    }
    if rules and isinstance(f, CustomFilter):
        data["keywords"] = [filter_keyword(k) for k in sorted(f.keywords, key=lambda k: k.id)]
        data["statuses"] = [filter_status(s) for s in sorted(f.statuses, key=lambda s: s.id)]
    return data


def filter_result(match: service.Match) -> dict[str, Any]:
    return {
        "filter": filter_entity(match.filter, rules=False),
        "keyword_matches": match.keyword_matches,
        "status_matches": [str(i) for i in match.status_matches] if match.status_matches is not None else None,
    }


def filtered(active: list[service.ActiveFilter], status: Status, boosted: Status | None = None) -> list[dict[str, Any]]:
    """The ``filtered`` field of a Status for a viewer whose filters are ``active`` (:func:`service.active`)."""
    return [filter_result(m) for m in service.matches(active, status, boosted)]
