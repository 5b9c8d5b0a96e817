"""Conversation: a direct conversation as its owner sees it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.api.serializers.statuses import statuses as status_entities
from fedikit.core.models import Account
from fedikit.core.services.conversations import ConversationView


def conversations(viewer: Account, views: Sequence[ConversationView]) -> list[dict[str, Any]]:
    """Conversation entities for a page, their last statuses serialised together."""
    last_statuses = status_entities(viewer, [view.last_status for view in views])
    return [
        {
            "id": str(view.row.id),
            "unread": view.row.unread,
            "accounts": [account_entity(a) for a in view.accounts],
            "last_status": last_status,
        }
        for view, last_status in zip(views, last_statuses, strict=True)
    ]
