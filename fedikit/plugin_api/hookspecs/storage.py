"""Hooks that offer storage backends."""

from __future__ import annotations

from fedikit.plugin_api.markers import hookspec
from fedikit.plugin_api.types import BackendRegistry


@hookspec
def register_backends(registry: BackendRegistry) -> None:
    """Offer named backends for feeds, jobs, media, search or streaming.

    When: in ``create_app()``, after config is validated.

    Semantics: registers providers. Every plugin may offer backends; the
    instance's config chooses exactly one per kind (``FEEDS_BACKEND``,
    ``QUEUE_BACKEND``, ``MEDIA_BACKEND``, ``SEARCH_BACKEND``,
    ``STREAMING_BACKEND``) and only the chosen factory is called. Two plugins
    offering the same name for one kind is a startup error.

    Arguments: ``registry``; call ``registry.add(kind, name, factory)`` where
    ``factory(context: BackendContext)`` returns an object implementing the
    kind's Protocol from ``fedikit.plugin_api.types``. Import heavy libraries
    inside the factory, so that they load only when the backend is chosen.

    Returns: nothing.

    Since: 1.0
    """
