"""What the viewer keeps: /api/v1/blocks, /mutes, /favourites, /bookmarks, /domain_blocks.

Each list pages by the id of the row that records the choice (when it was
made), newest first, as Mastodon pages them.
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify
from sqlalchemy import delete, select

from fedikit.core.api import pagination, params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.serializers import accounts as entities
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.db import db
from fedikit.core.models import Account, AccountDomainBlock, Block, Bookmark, Favourite, Mute, Status
from fedikit.core.visibility import visible_to

DOMAIN_MAX = 253


def _rows(model: type, **page: Any) -> list[Any]:
    query = select(model).where(model.account_id == current_account().id)
    return pagination.rows(query, model.id, page)


def _accounts_page(model: type):  # noqa: ANN202
    rows = _rows(model, **pagination.page(default=40, maximum=80))
    ids = [r.target_account_id for r in rows]
    found = {a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids)))}
    body = [entities.account(found[i]) for i in ids if i in found]
    return jsonify(body), 200, pagination.link_header([r.id for r in rows])


def _statuses_page(model: type):  # noqa: ANN202
    viewer = current_account()
    rows = _rows(model, **pagination.page(default=20, maximum=40))
    ids = [r.status_id for r in rows]
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(ids), visible_to(viewer)))}
    body = status_entities(viewer, [found[i] for i in ids if i in found])
    return jsonify(body), 200, pagination.link_header([r.id for r in rows])


@scoped("read:blocks", "follow")
def blocks():  # noqa: ANN201
    return _accounts_page(Block)


@scoped("read:mutes", "follow")
def mutes():  # noqa: ANN201
    return _accounts_page(Mute)


@scoped("read:favourites")
def favourites():  # noqa: ANN201
    return _statuses_page(Favourite)


@scoped("read:bookmarks")
def bookmarks():  # noqa: ANN201
    return _statuses_page(Bookmark)


@scoped("read:blocks", "follow")
def domain_blocks():  # noqa: ANN201
    rows = _rows(AccountDomainBlock, **pagination.page(default=100, maximum=200))
    return jsonify([r.domain for r in rows]), 200, pagination.link_header([r.id for r in rows])


def _domain() -> str:
    domain = (params.text("domain") or "").strip().lower().rstrip(".")
    if not domain or len(domain) > DOMAIN_MAX or "/" in domain or "@" in domain or " " in domain:
        abort(422, "Validation failed: Domain is not a valid domain name")
    return domain


@scoped("write:blocks", "follow")
def block_domain():  # noqa: ANN201
    viewer, domain = current_account(), _domain()
    exists = db.session.scalar(
        select(AccountDomainBlock).where(
            AccountDomainBlock.account_id == viewer.id, AccountDomainBlock.domain == domain
        )
    )
    if exists is None:
        db.session.add(AccountDomainBlock(account_id=viewer.id, domain=domain))
        db.session.commit()
    return jsonify({})


@scoped("write:blocks", "follow")
def unblock_domain():  # noqa: ANN201
    viewer, domain = current_account(), _domain()
    db.session.execute(
        delete(AccountDomainBlock).where(
            AccountDomainBlock.account_id == viewer.id, AccountDomainBlock.domain == domain
        )
    )
    db.session.commit()
    return jsonify({})
