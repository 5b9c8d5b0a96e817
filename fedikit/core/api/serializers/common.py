"""Small shared pieces of the wire format."""

from __future__ import annotations

import datetime as dt

from fedikit.core.state import current


def iso(moment: dt.datetime | None) -> str | None:
    """Mastodon's timestamps: UTC, milliseconds, a ``Z``."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def base_url() -> str:
    return current().config["BASE_URL"]


def media_url(key: str | None, fallback: str) -> str:
    """The public URL of a stored file, or the instance's stand-in image."""
    if key:
        return current().media.url(key)
    return f"{base_url()}{fallback}"
