"""/api/v1/featured_tags (and suggestions), /api/v1/accounts/:id/featured_tags: hashtags shown on profiles."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api import params
from fedikit.core.api.auth import current_account, scoped
from fedikit.core.api.lookup import account_or_404
from fedikit.core.api.serializers.featured_tags import featured_tags as entities
from fedikit.core.api.v1.tags import tag_entities
from fedikit.core.services import featured_tags as service


@scoped("read:accounts")
def index():  # noqa: ANN201
    viewer = current_account()
    return jsonify(entities(viewer, service.featured_by(viewer)))


@scoped("write:accounts")
def create():  # noqa: ANN201
    viewer = current_account()
    featured = service.feature(viewer, params.text("name"))
    return jsonify(entities(viewer, [featured])[0])


@scoped("write:accounts")
def destroy(id: str):  # noqa: ANN201, A002
    service.unfeature(current_account(), params.ident(id))
    return jsonify({})


@scoped("read:accounts")
def suggestions():  # noqa: ANN201
    viewer = current_account()
    return jsonify(tag_entities(service.suggestions(viewer), viewer))


@scoped("read:accounts", public=True)
def of_account(id: str):  # noqa: ANN201, A002
    owner = account_or_404(id)
    return jsonify(entities(owner, service.featured_by(owner)))
