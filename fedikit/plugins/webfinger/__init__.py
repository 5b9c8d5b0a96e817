"""WebFinger and host-meta: how other servers turn ``user@domain`` into one of this instance's accounts.

Serves, as Mastodon does:

- ``/.well-known/webfinger?resource=...`` (RFC 7033): the JRD of a local
  account named by ``acct:user@LOCAL_DOMAIN`` (or ``WEB_DOMAIN``) or by its
  actor or profile URL;
- ``/.well-known/host-meta`` (RFC 6415): where the WebFinger endpoint is, as
  XRD, or as JSON (``/.well-known/host-meta.json``, ``?format=json``, or an
  ``Accept: application/json`` request).

Remote accounts are never answered for. Later parts of federation, not here
yet: looking up remote accounts by WebFinger (the ``resolve_account`` hook),
the instance actor (``acct:LOCAL_DOMAIN@LOCAL_DOMAIN``), ``ALTERNATE_DOMAINS``,
and the ``/authorize_interaction`` page the subscribe template points at; the
actor documents the ``self`` links point at come with the ActivityPub plugin.
"""

from __future__ import annotations

from flask import Blueprint

from fedikit.plugin_api import hookimpl


@hookimpl
def register_blueprints() -> list[Blueprint]:
    from fedikit.plugins.webfinger.views import bp

    return [bp]
