"""/api/v1/follow_requests: pending requests to follow the viewer, and answering them."""

from __future__ import annotations

from flask import abort, jsonify
from sqlalchemy import select

from fedikit.core.api import pagination
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.lookup import account_or_404
from fedikit.core.api.serializers import accounts as entities
from fedikit.core.db import db
from fedikit.core.models import Account, FollowRequest
from fedikit.core.services import relationships


@scoped("read:follows", "follow")
def index():  # noqa: ANN201
    viewer = current_account()
    page = pagination.page(default=40, maximum=80)
    query = select(FollowRequest).where(FollowRequest.target_account_id == viewer.id)
    rows = pagination.rows(query, FollowRequest.id, page)
    found = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_([r.account_id for r in rows])))}
    body = [entities.account(found[r.account_id]) for r in rows if r.account_id in found]
    return jsonify(body), 200, pagination.link_header([r.id for r in rows])


def _requester_or_404(id: str) -> tuple[Account, Account]:  # noqa: A002
    """The viewer and the account whose pending request they answer; 404 when there is none."""
    viewer, follower = current_account(), account_or_404(id)
    pending = db.session.scalar(
        select(FollowRequest.id).where(
            FollowRequest.account_id == follower.id, FollowRequest.target_account_id == viewer.id
        )
    )
    if pending is None:
        abort(404, "Record not found")
    return viewer, follower


@scoped("write:follows", "follow")
def authorize(id: str):  # noqa: ANN201, A002
    viewer, follower = _requester_or_404(id)
    relationships.authorize(viewer, follower)
    return jsonify(entities.relationships(viewer, [follower])[0])


@scoped("write:follows", "follow")
def reject(id: str):  # noqa: ANN201, A002
    viewer, follower = _requester_or_404(id)
    relationships.reject(viewer, follower)
    return jsonify(entities.relationships(viewer, [follower])[0])
