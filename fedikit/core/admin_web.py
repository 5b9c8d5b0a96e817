"""The moderators' pages: reports, read and handled in the browser (signed in as for the OAuth pages).

The same services as the admin API (``/api/v1/admin/reports``) do the work;
these pages are for owners, admins and moderators signed in on this site.
Every change is a POST form carrying the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from sqlalchemy import func, select

from fedikit.core.db import db
from fedikit.core.models import Account, InstanceRule, Report, Status
from fedikit.core.pagination import paginate
from fedikit.core.sanitize import plain_text
from fedikit.core.services import reports
from fedikit.core.state import current
from fedikit.core.web import check_csrf, signed_in_user

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")


@bp.after_request
def _not_framed(response: Response) -> Response:
    """No other site may show these pages in a frame (and have a moderator click their buttons)."""
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


@bp.app_template_filter("utc")
def _utc(moment: dt.datetime | None) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if moment is not None else ""


PAGE = 50


def _moderator() -> Account:
    user = signed_in_user()
    if user is None:
        abort(redirect(url_for("core.sign_in", next=request.full_path.rstrip("?"))))
    if not reports.may_moderate(user):
        abort(403, "Only moderators may see reports.")
    return user.account


def open_reports() -> int:
    return db.session.scalar(select(func.count()).where(Report.action_taken_at.is_(None))) or 0


def _accounts(ids: set[int]) -> dict[int, Account]:
    return {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))} if ids else {}


@bp.get("/reports")
def reports_index():  # noqa: ANN201
    _moderator()
    resolved = request.args.get("resolved") in ("1", "true")
    max_id = request.args.get("max_id", type=int)
    page = paginate(reports.for_moderators(resolved=resolved), Report.id, max_id=max_id, limit=PAGE)
    rows = list(db.session.scalars(page))
    people = _accounts({i for r in rows for i in (r.account_id, r.target_account_id, r.assigned_account_id) if i})
    return render_template(
        "admin/reports.html",
        domain=current().config["LOCAL_DOMAIN"],
        rows=rows,
        people=people,
        resolved=resolved,
        older=rows[-1].id if len(rows) == PAGE else None,
    )


@bp.get("/reports/<int:report_id>")
def report_page(report_id: int):  # noqa: ANN201
    _moderator()
    report = db.session.get(Report, report_id) or abort(404)
    involved = (report.account_id, report.target_account_id, report.assigned_account_id)
    people = _accounts({i for i in (*involved, report.action_taken_by_account_id) if i})
    wanted = report.status_ids or []
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(wanted)))} if wanted else {}
    statuses = [  # as text: what a remote server sent is shown, never rendered
        {"url": s.url or s.uri, "text": plain_text(s.content), "at": s.created_at}
        for s in (found[i] for i in wanted if i in found)
    ]
    rules = list(db.session.scalars(select(InstanceRule).where(InstanceRule.id.in_(report.rule_ids or []))))
    return render_template(
        "admin/report.html",
        domain=current().config["LOCAL_DOMAIN"],
        report=report,
        people=people,
        statuses=statuses,
        rules=rules,
    )


@bp.post("/reports/<int:report_id>/<action>")
def report_action(report_id: int, action: str):  # noqa: ANN201
    moderator = _moderator()
    check_csrf()
    if action not in reports.ACTIONS:
        abort(404)
    report = db.session.get(Report, report_id) or abort(404)
    reports.act(report, moderator, action)
    return redirect(url_for("admin.report_page", report_id=report.id))
