"""Turning what a local account writes into stored HTML."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select

from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.sanitize import sanitize_html
from fedikit.core.state import current
from fedikit.plugin_api import RenderContext
from fedikit.plugin_api.text import mention_handles


class Rendered(NamedTuple):
    html: str  # sanitised
    mentioned: list[Account]  # in the renderer's order, once each; ids it made up are left out
    tags: Sequence[str]


def render(author: Account, text: str) -> Rendered:
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
    return Rendered(
        html=sanitize_html(rendered.html),
        mentioned=_accounts(rendered.mentioned_account_ids, mentions.values()),
        tags=rendered.tags,
    )


def _accounts(ids: Sequence[int], resolved: Sequence[Account]) -> list[Account]:
    """The accounts behind ``ids``: those resolved for the renderer as they are, any other looked up."""
    wanted = list(dict.fromkeys(ids))
    found = {a.id: a for a in resolved}
    missing = [i for i in wanted if i not in found]
    if missing:
        found.update((a.id, a) for a in db.session.scalars(select(Account).where(Account.id.in_(missing))))
    return [found[i] for i in wanted if i in found]
