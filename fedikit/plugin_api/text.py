"""How fedikit finds mentions and hashtags in text, for core and renderers alike."""

from __future__ import annotations

import re

# @user or @user@domain, not preceded by a word character, '/' (a URL) or '@'.
MENTION_RE = re.compile(
    r"(?<![\w/@.])@(?P<username>[a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_])?)"
    r"(?:@(?P<domain>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d+)?))?",
    re.IGNORECASE,
)
# #tag, letters/digits/underscore with at least one non-digit, not inside a word or URL.
HASHTAG_RE = re.compile(r"(?<![\w/#&])#(?P<tag>\w*[^\W\d]\w*)", re.UNICODE)
URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]", re.IGNORECASE)


def mention_handles(text: str) -> list[str]:
    """``user`` or ``user@domain`` for each distinct mention, in order of appearance."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(_without_urls(text)):
        handle = match["username"] + (f"@{match['domain'].lower()}" if match["domain"] else "")
        seen.setdefault(handle, None)
    return list(seen)


def hashtags(text: str) -> list[str]:
    """Distinct hashtag names as typed (case kept), in order of appearance."""
    seen: dict[str, str] = {}
    for match in HASHTAG_RE.finditer(_without_urls(text)):
        seen.setdefault(match["tag"].lower(), match["tag"])
    return list(seen.values())


def _without_urls(text: str) -> str:
    return URL_RE.sub(lambda m: " " * len(m.group(0)), text)
