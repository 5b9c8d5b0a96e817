"""Turning what a local account writes into stored HTML."""

from __future__ import annotations

from fedikit.core.models import Account
from fedikit.core.sanitize import sanitize_html
from fedikit.core.state import current
from fedikit.plugin_api import RenderContext, RenderedContent
from fedikit.plugin_api.text import mention_handles


def render(author: Account, text: str) -> RenderedContent:
    """Resolve mentions, render through ``render_status_html``, sanitise the HTML."""
    from fedikit.core.services.accounts import resolve

    state = current()
    mentions = {}
    for handle in mention_handles(text):
        account = resolve(handle)
        if account is not None:
            mentions[handle] = account
    context = RenderContext(
        author=author,
        local_domain=state.config["LOCAL_DOMAIN"],
        base_url=state.config["BASE_URL"],
        mentions=mentions,
    )
    rendered = state.hook.render_status_html(text=text, context=context)
    return RenderedContent(
        html=sanitize_html(rendered.html),
        mentioned_account_ids=rendered.mentioned_account_ids,
        tags=rendered.tags,
    )
