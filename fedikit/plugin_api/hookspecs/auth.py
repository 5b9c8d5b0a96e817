"""Hooks that decide who someone is."""

from __future__ import annotations

from fedikit.plugin_api.markers import hookspec
from fedikit.plugin_api.types import UserRecord


@hookspec(firstresult=True)
def authenticate(identifier: str, password: str) -> UserRecord | None:
    """Check a login.

    When: when someone signs in with an e-mail address or username and a
    password (the sign-in page, OAuth's password grant).

    Semantics: first answer wins. The bundled ``local_auth`` plugin runs last
    and checks the stored argon2 hash. A plugin that recognises the identifier
    but refuses the password should raise ``Reject`` so that later plugins do
    not accept it.

    Arguments: ``identifier`` as typed; ``password`` as typed.

    Returns: the local user, or None when this plugin does not know them.

    Since: 1.0
    """
