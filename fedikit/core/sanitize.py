"""The one HTML sanitiser: everything HTML that fedikit stores or serves passes here."""

from __future__ import annotations

import html as html_module
import re

import nh3

ALLOWED_TAGS = {
    "p",
    "br",
    "span",
    "a",
    "del",
    "s",
    "pre",
    "code",
    "em",
    "strong",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "sub",
    "sup",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "translate"},
    "span": {"translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
}
ALLOWED_CLASSES = {
    "a": {"mention", "hashtag", "u-url", "status-link", "unhandled-link"},
    "span": {"h-card", "invisible", "ellipsis", "mention", "hashtag"},
}
URL_SCHEMES = {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}


def sanitize_html(html: str) -> str:
    """Keep Mastodon's allow-list of tags, attributes, classes and link schemes; drop the rest."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        allowed_classes=ALLOWED_CLASSES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
    )


_BREAKS = re.compile(r"<br\s*/?>|</p>\s*<p>", re.IGNORECASE)


def plain_text(html: str) -> str:
    """The text of some HTML, line and paragraph breaks kept as newlines (for search and previews)."""
    return html_module.unescape(nh3.clean(_BREAKS.sub("\n", html), tags=set())).strip()
