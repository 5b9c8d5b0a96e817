"""Reports: people telling the moderators (here, and on the reported account's server) about an account.

A local user's report names an account and, optionally, some of its statuses
they can see, a category and the instance rules broken. A report about a
remote account may be forwarded: the ``reported`` event lets a protocol plugin
send it to that server, as Mastodon forwards reports anonymously from its
instance actor. Reports arriving from other servers are stored by
:func:`receive`, unless the admin rejects reports from that domain.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select

from fedikit.core.db import db, utcnow
from fedikit.core.errors import NotFound, ValidationError
from fedikit.core.models import Account, InstanceRule, Report, Role, Status, User
from fedikit.core.services import domain_blocks
from fedikit.core.state import current
from fedikit.core.visibility import can_see

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000  # Mastodon's default
MAX_STATUSES = 100  # bounds what one report may name


def file(
    reporter: Account,
    target: Account,
    *,
    status_ids: Sequence[int] = (),
    comment: str = "",
    category: str = "other",
    rule_ids: Sequence[int] = (),
    forward: bool = False,
) -> Report:
    """Store ``reporter``'s report about ``target``; ValidationError or NotFound (Mastodon's 422/404)."""
    if target.id == reporter.id:
        raise ValidationError("Validation failed: you cannot report yourself")
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"Validation failed: Comment is too long (maximum is {MAX_COMMENT} characters)")
    if len(status_ids) > MAX_STATUSES or len(rule_ids) > MAX_STATUSES:
        raise ValidationError("Validation failed: too many statuses or rules")
    if rule_ids:
        category = "violation"  # as Mastodon: rules make it a violation report whatever was asked
    _check_category(category)
    statuses = _statuses_of(target, status_ids, reporter)
    rules = _rules(rule_ids)
    report = Report(
        account_id=reporter.id,
        target_account_id=target.id,
        status_ids=[s.id for s in statuses],
        rule_ids=rules,
        comment=comment,
        category=category,
        forwarded=bool(forward and not target.local),
    )
    db.session.add(report)
    db.session.commit()
    current().emit("reported", report=report, target=target, statuses=statuses)
    return report


def _check_category(category: str) -> None:
    if category not in CATEGORIES:
        raise ValidationError(f"Validation failed: category must be one of {', '.join(CATEGORIES)}")


def _rules(rule_ids: Sequence[int]) -> list[int]:
    """The rule ids, without repeats; each must name a rule of this instance (422 otherwise)."""
    rules = list(dict.fromkeys(int(r) for r in rule_ids))
    known = set(db.session.scalars(select(InstanceRule.id).where(InstanceRule.id.in_(rules)))) if rules else set()
    if set(rules) - known:
        raise ValidationError("Validation failed: Rule ids must name rules of this instance")
    return rules


def _statuses_of(target: Account, status_ids: Sequence[int], viewer: Account | None) -> list[Status]:
    wanted = list(dict.fromkeys(int(i) for i in status_ids))
    if not wanted:
        return []
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(wanted)))}
    statuses = [found[i] for i in wanted if i in found]
    if len(statuses) != len(wanted) or any(s.account_id != target.id for s in statuses):
        raise NotFound("Record not found")
    if viewer is not None and not all(can_see(viewer, s) for s in statuses):
        raise NotFound("Record not found")
    return statuses


def receive(sender: Account, target: Account, statuses: Sequence[Status], comment: str) -> Report | None:
    """A report from another server (``sender`` is whoever sent it) about local ``target``; None if dropped."""
    if sender.local or not target.local or domain_blocks.policy(sender.domain).reject_reports:
        return None
    report = Report(
        account_id=sender.id,
        target_account_id=target.id,
        status_ids=[s.id for s in statuses if s.account_id == target.id][:MAX_STATUSES],
        comment=comment[: MAX_COMMENT * 5],
        category="other",
    )
    db.session.add(report)
    db.session.commit()
    return report


# ---------------------------------------------------------------- moderation (the admin API)

MODERATORS = frozenset({Role.OWNER.value, Role.ADMIN.value, Role.MODERATOR.value})  # Mastodon's manage_reports


def may_moderate(user: User | None) -> bool:
    return user is not None and user.role in MODERATORS


def for_moderators(
    *, resolved: bool = False, account_id: int | None = None, target_account_id: int | None = None
) -> Select[tuple[Report]]:
    """The reports a moderator's list shows: open ones unless ``resolved``, optionally by reporter or target."""
    query = select(Report).where(Report.action_taken_at.is_not(None) if resolved else Report.action_taken_at.is_(None))
    if account_id is not None:
        query = query.where(Report.account_id == account_id)
    if target_account_id is not None:
        query = query.where(Report.target_account_id == target_account_id)
    return query


def recategorize(report: Report, *, category: str | None = None, rule_ids: Sequence[int] | None = None) -> Report:
    """Change what the report is about (the moderator's reading of it); 422 for an unknown category or rule."""
    if category is not None:
        _check_category(category)
        report.category = category
    if rule_ids is not None:
        report.rule_ids = _rules(rule_ids)
    db.session.commit()
    return report


ACTIONS = ("assign_to_self", "unassign", "resolve", "reopen")  # Mastodon's names, in its admin API and pages


def act(report: Report, moderator: Account, action: str) -> Report:
    """``moderator`` does ``action`` (one of :data:`ACTIONS`) to the report."""
    if action == "assign_to_self":
        return assign(report, moderator)
    if action == "unassign":
        return assign(report, None)
    if action == "resolve":
        return resolve(report, moderator)
    if action == "reopen":
        return reopen(report)
    raise ValueError(f"no report action {action!r}")


def assign(report: Report, moderator: Account | None) -> Report:
    """Hand the report to ``moderator``; None takes it back from whoever had it."""
    report.assigned_account_id = moderator.id if moderator is not None else None
    db.session.commit()
    return report


def resolve(report: Report, moderator: Account) -> Report:
    """Mark the report handled by ``moderator`` (again: the latest moderator and time are kept)."""
    report.action_taken_at = utcnow()
    report.action_taken_by_account_id = moderator.id
    db.session.commit()
    return report


def reopen(report: Report) -> Report:
    report.action_taken_at = None
    report.action_taken_by_account_id = None
    db.session.commit()
    return report
