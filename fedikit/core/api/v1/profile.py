"""/api/v1/profile/avatar and /api/v1/profile/header: removing the caller's profile images."""

from __future__ import annotations

from flask import jsonify

from fedikit.core.api.auth import current_user, scoped
from fedikit.core.api.serializers.accounts import credential_account
from fedikit.core.services import accounts as account_service


@scoped("write:accounts")
def delete_avatar():  # noqa: ANN201
    user = current_user()
    account_service.update_profile(user.account, avatar=None)
    return jsonify(credential_account(user))


@scoped("write:accounts")
def delete_header():  # noqa: ANN201
    user = current_user()
    account_service.update_profile(user.account, header=None)
    return jsonify(credential_account(user))
