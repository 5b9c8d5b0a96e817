"""The default renderer: plain text in, Mastodon's HTML out."""

from __future__ import annotations

from fedikit.plugin_api import RenderContext, RenderedContent, hookimpl
from fedikit.plugins.plain_text.render import render


@hookimpl(trylast=True)
def render_status_html(text: str, context: RenderContext) -> RenderedContent:
    return render(text, context)
