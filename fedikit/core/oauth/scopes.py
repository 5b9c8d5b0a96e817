"""Mastodon's OAuth scopes: the top-level ones, their granular parts, and who satisfies what."""

from __future__ import annotations

from collections.abc import Iterable

_ADMIN_PARTS = (
    "accounts",
    "reports",
    "domain_allows",
    "domain_blocks",
    "ip_blocks",
    "email_domain_blocks",
    "canonical_email_blocks",
)
GRANULAR = {
    "read": (
        "accounts",
        "blocks",
        "bookmarks",
        "favourites",
        "filters",
        "follows",
        "lists",
        "mutes",
        "notifications",
        "search",
        "statuses",
    ),
    "write": (
        "accounts",
        "blocks",
        "bookmarks",
        "conversations",
        "favourites",
        "filters",
        "follows",
        "lists",
        "media",
        "mutes",
        "notifications",
        "reports",
        "statuses",
    ),
    "admin:read": _ADMIN_PARTS,
    "admin:write": _ADMIN_PARTS,
}
# The deprecated "follow" scope grants these.
FOLLOW = ("read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes")
TOP_LEVEL = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
ALL = (*TOP_LEVEL, *(f"{parent}:{part}" for parent, parts in GRANULAR.items() for part in parts))


def parse(scope: str | Iterable[str] | None) -> list[str]:
    """Scopes from a space- (or comma-, or plus-) separated string, in order, without repeats."""
    if scope is None:
        return []
    words = scope.replace(",", " ").replace("+", " ").split() if isinstance(scope, str) else list(scope)
    return list(dict.fromkeys(w.strip() for w in words if w.strip()))


def unknown(scopes: Iterable[str]) -> list[str]:
    return [s for s in scopes if s not in ALL]


def granted(held: Iterable[str], needed: str) -> bool:
    """Whether holding ``held`` allows an action that needs ``needed``.

    ``read`` covers ``read:statuses``; ``follow`` covers the follow, block and
    mute scopes; ``profile`` is covered by ``read`` and ``read:accounts`` too
    (verify_credentials accepts any of them).
    """
    held = set(held)
    if needed in held:
        return True
    parent, _, _ = needed.rpartition(":")
    if parent and parent in held:
        return True
    if needed in FOLLOW and "follow" in held:
        return True
    return needed == "profile" and bool(held & {"read", "read:accounts"})


def within(requested: Iterable[str], allowed: Iterable[str]) -> bool:
    """Whether every requested scope is one the application registered (or part of one)."""
    allowed = list(allowed)
    return all(granted(allowed, scope) for scope in requested)
