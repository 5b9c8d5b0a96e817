"""Paragraphs, line breaks, links, mentions and hashtags, marked up as Mastodon does."""

from __future__ import annotations

import re

from markupsafe import escape

from fedikit.plugin_api import RenderContext, RenderedContent
from fedikit.plugin_api.text import HASHTAG_RE, MENTION_RE, URL_RE

TOKEN_RE = re.compile(
    f"(?P<url>{URL_RE.pattern})|(?P<mention>{MENTION_RE.pattern})|(?P<hashtag>{HASHTAG_RE.pattern})",
    re.IGNORECASE,
)
SCHEME_RE = re.compile(r"\A(https?://(?:www\.)?)", re.IGNORECASE)
DISPLAY_LENGTH = 30


def render(text: str, context: RenderContext) -> RenderedContent:
    mentioned: dict[int, None] = {}
    tags: dict[str, str] = {}
    paragraphs = [p for p in re.split(r"\n{2,}", text.replace("\r\n", "\n").strip()) if p.strip()]
    html = "".join(
        "<p>" + "<br>".join(_line(line, context, mentioned, tags) for line in paragraph.split("\n")) + "</p>"
        for paragraph in paragraphs
    )
    return RenderedContent(html=html, mentioned_account_ids=tuple(mentioned), tags=tuple(tags.values()))


def _line(line: str, context: RenderContext, mentioned: dict[int, None], tags: dict[str, str]) -> str:
    out = []
    last = 0
    for match in TOKEN_RE.finditer(line):
        out.append(str(escape(line[last : match.start()])))
        last = match.end()
        if match["url"]:
            out.append(_link(match["url"]))
        elif match["mention"]:
            out.append(_mention(match, context, mentioned))
        else:
            tag = match["tag"]
            tags.setdefault(tag.lower(), tag)
            href = escape(f"{context.base_url}/tags/{tag.lower()}")
            out.append(f'<a href="{href}" class="mention hashtag" rel="tag">#<span>{escape(tag)}</span></a>')
    out.append(str(escape(line[last:])))
    return "".join(out)


def _link(url: str) -> str:
    prefix_match = SCHEME_RE.match(url)
    prefix = prefix_match.group(1) if prefix_match else ""
    rest = url[len(prefix) :]
    shown, hidden = rest[:DISPLAY_LENGTH], rest[DISPLAY_LENGTH:]
    ellipsis = "ellipsis" if hidden else ""
    return (
        f'<a href="{escape(url)}" rel="nofollow noopener noreferrer" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>'
        f'<span class="{ellipsis}">{escape(shown)}</span>'
        f'<span class="invisible">{escape(hidden)}</span></a>'
    )


def _mention(match: re.Match[str], context: RenderContext, mentioned: dict[int, None]) -> str:
    handle = match["username"] + (f"@{match['domain'].lower()}" if match["domain"] else "")
    account = context.mentions.get(handle)
    if account is None:
        return str(escape(match.group(0)))
    mentioned.setdefault(account.id, None)
    href = escape(account.url or account.uri)
    return (
        f'<span class="h-card" translate="no"><a href="{href}" class="u-url mention">'
        f"@<span>{escape(account.username)}</span></a></span>"
    )
