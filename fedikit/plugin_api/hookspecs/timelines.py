"""Hooks that shape timelines."""

from __future__ import annotations

from fedikit.plugin_api.markers import hookspec
from fedikit.plugin_api.types import AccountRecord, StatusRecord


@hookspec
def timeline_admit(timeline: str, status: StatusRecord, viewer: AccountRecord | None) -> bool | None:
    """Decide whether a status appears in a timeline for a viewer.

    When: as a timeline page is read, for each status that visibility already
    allows the viewer to see. It can only hide statuses, never reveal one.

    Semantics: all run; any ``False`` hides the status.

    Arguments: ``timeline`` (``home``, ``list:<id>``, ``public``,
    ``public:local``, ``tag:<name>``); ``status``; ``viewer``, or None for
    anonymous readers.

    Returns: False to hide, True or None to let it through.

    Since: 1.0
    """
