"""/api/v1/lists, a list's accounts, the lists holding an account, and /api/v1/timelines/list/:list_id."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.lookup import account_or_404
from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.models import List as AccountList
from fedikit.core.pagination import newest_first, paginate
from fedikit.core.services import lists as service
from fedikit.core.services import timelines

ACCOUNTS_DEFAULT, ACCOUNTS_MAX = 40, 80


def entity(feed_list: AccountList) -> dict[str, Any]:
    return {
        "id": str(feed_list.id),
        "title": feed_list.title,
        "replies_policy": feed_list.replies_policy,
        "exclusive": bool(feed_list.exclusive),
    }


def _mine(raw_id: str) -> AccountList:
    return service.owned(current_account(), params.ident(raw_id))


def _optional_boolean(name: str) -> bool | None:
    return params.boolean(name) if params.fields().get(name) is not None else None


def _account_ids() -> list[int]:
    return [i for i in (params.ident(v) for v in params.array("account_ids")) if i is not None]


@scoped("read:lists")
def index():  # noqa: ANN201
    return jsonify([entity(found) for found in service.lists_of(current_account())])


@scoped("write:lists")
def create():  # noqa: ANN201
    made = service.create(
        current_account(),
        params.text("title"),
        replies_policy=params.text("replies_policy") or None,
        exclusive=params.boolean("exclusive"),
    )
    return jsonify(entity(made))


@scoped("read:lists")
def show(id: str):  # noqa: ANN201, A002
    return jsonify(entity(_mine(id)))


@scoped("write:lists")
def update(id: str):  # noqa: ANN201, A002
    changed = service.update(
        _mine(id),
        title=params.text("title"),
        replies_policy=params.text("replies_policy") or None,
        exclusive=_optional_boolean("exclusive"),
    )
    return jsonify(entity(changed))


@scoped("write:lists")
def destroy(id: str):  # noqa: ANN201, A002
    service.destroy(_mine(id))
    return jsonify({})


@scoped("read:lists")
def accounts(id: str):  # noqa: ANN201, A002
    """The list's accounts by account id, newest first; ``limit=0``: all of them, unpaged."""
    feed_list = _mine(id)
    query = service.members(feed_list)
    if params.integer("limit", ACCOUNTS_DEFAULT) == 0:
        found = list(db.session.scalars(query.order_by(Account.id.desc())))
        return jsonify([account_entity(a) for a in found])
    page = pagination.page(default=ACCOUNTS_DEFAULT, maximum=ACCOUNTS_MAX)
    found = newest_first(list(db.session.scalars(paginate(query, Account.id, **page))), min_id=page["min_id"])
    return jsonify([account_entity(a) for a in found]), 200, pagination.link_header([a.id for a in found])


@scoped("write:lists")
def add_accounts(id: str):  # noqa: ANN201, A002
    service.add_accounts(_mine(id), _account_ids())
    return jsonify({})


@scoped("write:lists")
def remove_accounts(id: str):  # noqa: ANN201, A002
    service.remove_accounts(_mine(id), _account_ids())
    return jsonify({})


@scoped("read:lists")
def account_lists(id: str):  # noqa: ANN201, A002
    """The viewer's own lists that hold account ``id``."""
    member = account_or_404(id)
    return jsonify([entity(found) for found in service.lists_containing(current_account(), member)])


@scoped("read:lists")
def timeline(list_id: str):  # noqa: ANN201
    viewer = current_account()
    owned = service.owned(viewer, params.ident(list_id))
    page = timelines.list_timeline(viewer, owned.id, **pagination.page())
    return jsonify(status_entities(viewer, page)), 200, pagination.link_header([s.id for s in page])
