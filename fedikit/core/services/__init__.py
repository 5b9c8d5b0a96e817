"""Domain actions. Views, CLI commands, jobs and plugins change state only through these.

Each action validates its input, stores the change in one transaction, commits,
then fires the matching domain-event hook (see ``plugin_api.hookspecs.protocol``).
Bad input raises :class:`ValidationError` (Mastodon answers 422) or
:class:`Forbidden` (403) / :class:`NotFound` (404); nothing is stored then.
"""


def checked_title(title: str | None, limit: int = 255) -> str:
    """A non-blank title within ``limit`` characters (lists, filters), else ValidationError."""
    from fedikit.core.errors import ValidationError

    if title is None or not title.strip():
        raise ValidationError("Validation failed: Title can't be blank")
    if len(title) > limit:
        raise ValidationError(f"Validation failed: Title is too long (maximum is {limit} characters)")
    return title
