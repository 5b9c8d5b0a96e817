"""Fetching what a request names, with Mastodon's 404 for both missing and not visible."""

from __future__ import annotations

from flask import abort

from fedikit.core.api import params
from fedikit.core.db import db
from fedikit.core.models import Account, Status
from fedikit.core.visibility import can_see


def account_or_404(raw_id: str) -> Account:
    account_id = params.ident(raw_id)
    found = db.session.get(Account, account_id) if account_id is not None else None
    if found is None or found.suspended_at is not None:
        abort(404, "Record not found")
    return found


def status_or_404(raw_id: str, viewer: Account | None) -> Status:
    status_id = params.ident(raw_id)
    found = db.session.get(Status, status_id) if status_id is not None else None
    if found is None or not can_see(viewer, found):
        abort(404, "Record not found")
    return found
