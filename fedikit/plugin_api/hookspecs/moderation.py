"""Hooks that inspect content before it is stored."""

from __future__ import annotations

from collections.abc import Iterable

from fedikit.plugin_api.markers import hookspec
from fedikit.plugin_api.types import ModerationFilter


@hookspec
def register_moderation_filters() -> Iterable[ModerationFilter] | None:
    """Offer moderation filters.

    When: once, in ``create_app()``; the filters then run on every post.

    Semantics: all run; the filters are collected and run by core in the order
    the admin sets in ``MODERATION_FILTERS`` (comma-separated filter names;
    filters not named there run afterwards, by name). Each filter may accept
    the draft, rewrite it or raise ``Reject``; the first reject wins and the
    post is not stored. ``fedikit plugins list`` shows the order.

    Arguments: none.

    Returns: an iterable of objects with a ``name`` and a
    ``check(draft: PostDraft) -> PostDraft | None`` method.

    Since: 1.0
    """
