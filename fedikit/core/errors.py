"""Errors that services raise and the web layer turns into Mastodon's status codes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fedikit.plugin_api import FedikitError, NotFound


@dataclasses.dataclass(frozen=True)
class FieldError:
    """What is wrong with one input field, as Mastodon details it in a 422 (sign-up, for one)."""

    field: str  # the parameter's name: "username"
    code: str  # Mastodon's: ERR_BLANK, ERR_INVALID, ERR_TAKEN, ERR_RESERVED, ERR_TOO_LONG, ERR_TOO_SHORT, ...
    description: str  # what follows the field's name: "has already been taken"
    sentence: str = ""  # the problem said on its own (the command line shows it); default: field + description

    def __str__(self) -> str:
        return self.sentence or f"{self.field} {self.description}"


class ValidationError(FedikitError):
    """Bad input: HTTP 422. With ``fields``, the answer carries Mastodon's ``details`` too."""

    status_code = 422

    def __init__(self, message: str, *, fields: Sequence[FieldError] = ()) -> None:
        super().__init__(message)
        self.fields = tuple(fields)

    @classmethod
    def of(cls, fields: Sequence[FieldError]) -> ValidationError:
        """Mastodon's wording: ``Validation failed: Username has already been taken, Email is invalid``."""
        summary = ", ".join(f"{f.field.replace('_', ' ').capitalize()} {f.description}" for f in fields)
        return cls(f"Validation failed: {summary}", fields=fields)

    def details(self) -> dict[str, list[dict[str, str]]]:
        """``{"username": [{"error": "ERR_TAKEN", "description": "has already been taken"}], ...}``."""
        out: dict[str, list[dict[str, str]]] = {}
        for f in self.fields:
            out.setdefault(f.field, []).append({"error": f.code, "description": f.description})
        return out


class Forbidden(FedikitError):
    """Not allowed for this account: HTTP 403."""

    status_code = 403


__all__ = ["FieldError", "Forbidden", "NotFound", "ValidationError"]
