"""{{ cookiecutter.description.rstrip('.') }}.

A fedikit plugin is a module of ``@hookimpl`` functions; the hooks, what they
receive and what they may return are documented in ``fedikit.plugin_api.hookspecs``.
Import only from ``fedikit.plugin_api``: it is the stable interface.
"""

from __future__ import annotations

import logging

from fedikit.plugin_api import StatusRecord, hookimpl

log = logging.getLogger(__name__)


@hookimpl
def status_created(status: StatusRecord) -> None:
    """Log every new status. Replace this with what your plugin does."""
    where = "local" if status.local else "remote"
    log.info("new %s status %s by @%s", where, status.id, status.account.acct)
