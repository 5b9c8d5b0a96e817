"""/api/v1/admin/reports: the moderators' view of reports, and handling them, as Mastodon's admin API.

Callers need a token with ``admin:read:reports`` (reading) or
``admin:write:reports`` (acting) *and* a user who may handle reports (owner,
admin or moderator); anyone else is told 403, as Mastodon. A report shows the
accounts involved as Admin::Account entities, the reported statuses as the
moderator would see them rendered (whatever their visibility: they were shown
to the reporter) and the instance rules it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, jsonify
from sqlalchemy import select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, current_user, scoped
from fedikit.core.api.serializers import accounts as account_entities
from fedikit.core.api.serializers.common import iso
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.api.v1.instance import rule_entity
from fedikit.core.db import db
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, InstanceRule, Report, Status, User
from fedikit.core.services import reports

MAX_PAGE = 200  # Mastodon's limits for this list: 100 by default, at most 200


def _moderator() -> Account:
    if not reports.may_moderate(current_user()):
        abort(403, "This action is not allowed")
    return current_account()


def _report_or_404(raw_id: str) -> Report:
    ident = params.ident(raw_id)
    found = db.session.get(Report, ident) if ident is not None else None
    if found is None:
        abort(404, "Record not found")
    return found


def entities(moderator: Account, found: Sequence[Report]) -> list[dict[str, Any]]:
    """Admin::Report entities for ``found``, in a fixed number of queries whatever their number."""
    account_ids = {
        i
        for r in found
        for i in (r.account_id, r.target_account_id, r.assigned_account_id, r.action_taken_by_account_id)
        if i is not None
    }
    accounts = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(account_ids)))}
    users = {u.account_id: u for u in db.session.scalars(select(User).where(User.account_id.in_(account_ids)))}
    status_ids = {i for r in found for i in r.status_ids or ()}
    statuses = list(db.session.scalars(select(Status).where(Status.id.in_(status_ids)))) if status_ids else []
    rendered = dict(zip((s.id for s in statuses), status_entities(moderator, statuses), strict=True))
    rule_ids = {i for r in found for i in r.rule_ids or ()}
    rules = {
        r.id: rule_entity(r)
        for r in (db.session.scalars(select(InstanceRule).where(InstanceRule.id.in_(rule_ids))) if rule_ids else ())
    }

    def admin_account(account_id: int | None) -> dict[str, Any] | None:
        one = accounts.get(account_id) if account_id is not None else None
        return account_entities.admin_account(one, users.get(one.id)) if one is not None else None

    return [
        {
            "id": str(r.id),
            "action_taken": r.action_taken_at is not None,
            "action_taken_at": iso(r.action_taken_at),
            "category": r.category,
            "comment": r.comment,
            "forwarded": r.forwarded,
            "created_at": iso(r.created_at),
            "updated_at": iso(r.updated_at),
            "account": admin_account(r.account_id),
            "target_account": admin_account(r.target_account_id),
            "assigned_account": admin_account(r.assigned_account_id),
            "action_taken_by_account": admin_account(r.action_taken_by_account_id),
            "statuses": [rendered[i] for i in r.status_ids or () if i in rendered],  # deleted ones are left out
            "rules": [rules[i] for i in r.rule_ids or () if i in rules],
        }
        for r in found
    ]


def _one(moderator: Account, report: Report):  # noqa: ANN202
    return jsonify(entities(moderator, [report])[0])


@scoped("admin:read:reports")
def index():  # noqa: ANN201
    moderator = _moderator()
    query = reports.for_moderators(
        resolved=params.boolean("resolved"),
        account_id=params.ident(params.text("account_id")),
        target_account_id=params.ident(params.text("target_account_id")),
    )
    rows = pagination.rows(query, Report.id, pagination.page(default=100, maximum=MAX_PAGE))
    return jsonify(entities(moderator, rows)), 200, pagination.link_header([r.id for r in rows])


@scoped("admin:read:reports")
def show(id: str):  # noqa: ANN201, A002
    return _one(_moderator(), _report_or_404(id))


@scoped("admin:write:reports")
def update(id: str):  # noqa: ANN201, A002
    moderator, report = _moderator(), _report_or_404(id)
    rule_ids = None
    if params.array("rule_ids"):
        rule_ids = [params.ident(raw) for raw in params.array("rule_ids")[: reports.MAX_STATUSES + 1]]
        if None in rule_ids or len(rule_ids) > reports.MAX_STATUSES:
            raise ValidationError("Validation failed: Rule ids must name rules of this instance")
    reports.recategorize(report, category=params.text("category") or None, rule_ids=rule_ids)
    return _one(moderator, report)


def _act(raw_id: str, action: str):  # noqa: ANN202
    moderator, report = _moderator(), _report_or_404(raw_id)
    return _one(moderator, reports.act(report, moderator, action))


@scoped("admin:write:reports")
def assign_to_self(id: str):  # noqa: ANN201, A002
    return _act(id, "assign_to_self")


@scoped("admin:write:reports")
def unassign(id: str):  # noqa: ANN201, A002
    return _act(id, "unassign")


@scoped("admin:write:reports")
def resolve(id: str):  # noqa: ANN201, A002
    return _act(id, "resolve")


@scoped("admin:write:reports")
def reopen(id: str):  # noqa: ANN201, A002
    return _act(id, "reopen")
