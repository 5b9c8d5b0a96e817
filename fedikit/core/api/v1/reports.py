"""/api/v1/reports: report an account (and some of its statuses) to the moderators."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify

from fedikit.core.api import params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.lookup import account_or_404
from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.common import iso
from fedikit.core.models import Account, Report
from fedikit.core.services import reports


def entity(report: Report, target: Account) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": iso(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": iso(report.created_at),
        "status_ids": [str(i) for i in report.status_ids] or None,
        "rule_ids": [str(i) for i in report.rule_ids] or None,
        "target_account": account_entity(target),
    }


def _ids(name: str) -> list[int]:
    """``name[]`` as ids (bounded first); an id that is not one names nothing: 404, as Mastodon."""
    found = []
    for raw in params.array(name)[: reports.MAX_STATUSES + 1]:
        ident = params.ident(raw)
        if ident is None:
            abort(404, "Record not found")
        found.append(ident)
    return found


@scoped("write:reports")
def create():  # noqa: ANN201
    reporter = current_account()
    account_id = params.text("account_id")
    if not account_id:
        abort(422, "Validation failed: Account can't be blank")
    target = account_or_404(account_id)
    report = reports.file(
        reporter,
        target,
        status_ids=_ids("status_ids"),
        comment=params.text("comment") or "",
        category=params.text("category") or "other",
        rule_ids=_ids("rule_ids"),
        forward=params.boolean("forward"),
    )
    return jsonify(entity(report, target))
