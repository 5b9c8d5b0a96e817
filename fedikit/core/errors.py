"""Errors that services raise and the web layer turns into Mastodon's status codes."""

from fedikit.plugin_api import FedikitError, NotFound


class ValidationError(FedikitError):
    """Bad input: HTTP 422."""

    status_code = 422


class Forbidden(FedikitError):
    """Not allowed for this account: HTTP 403."""

    status_code = 403


__all__ = ["Forbidden", "NotFound", "ValidationError"]
