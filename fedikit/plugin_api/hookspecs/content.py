"""Hooks that turn what people write into what is served."""

from __future__ import annotations

from fedikit.plugin_api.markers import hookspec
from fedikit.plugin_api.types import RenderContext, RenderedContent


@hookspec(firstresult=True)
def render_status_html(text: str, context: RenderContext) -> RenderedContent | None:
    """Render text a local account wrote (a status, a profile note) to HTML.

    When: when a local status is posted or edited, or a profile note changes.

    Semantics: first answer wins. The bundled ``plain_text`` renderer runs last
    (paragraphs, line breaks, links, mentions, hashtags). Whatever HTML is
    returned still passes core's sanitiser before it is stored.

    Arguments: ``text``, the source as typed; ``context``, the author, the
    instance's domain and base URL and the mentions core resolved.

    Returns: a :class:`RenderedContent` (HTML, ids of mentioned accounts,
    hashtags), or None to leave it to the next renderer.

    Since: 1.0
    """
