"""Hook specifications, one module per area.

Every hookspec's docstring has the same parts, in this order:

- **When**: the moment core calls it.
- **Semantics**: *all run* (every implementation is called; for events one
  failing plugin is logged and does not stop the others), *first answer wins*
  (the first non-None result is used; the bundled default runs last), or
  *registers providers* (plugins offer named backends and config picks one).
- **Arguments** and **Returns**.
- **Since**: the ``PLUGIN_API_VERSION`` that introduced it.
"""

from fedikit.plugin_api.hookspecs import (
    app,
    auth,
    content,
    moderation,
    protocol,
    storage,
    timelines,
)

AREAS = (app, storage, content, moderation, auth, timelines, protocol)
"""The hook areas, in the order ``create_app()`` consults them."""

__all__ = ["AREAS", "app", "auth", "content", "moderation", "protocol", "storage", "timelines"]
