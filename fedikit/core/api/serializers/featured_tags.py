"""FeaturedTag: a hashtag on a profile, with how much its owner used it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fedikit.core.models import Account, FeaturedTag
from fedikit.core.services import featured_tags as service


def featured_tags(owner: Account, featured: Sequence[FeaturedTag]) -> list[dict[str, Any]]:
    """FeaturedTag entities of ``owner``; the count is a string and the last use a date, as Mastodon sends them."""
    used = service.usage(owner, list(featured))
    profile = owner.url or owner.uri
    out = []
    for f in featured:
        usage = used.get(f.id, service.Usage())
        last = usage.last_status_at
        out.append(
            {
                "id": str(f.id),
                "name": f.name,
                "url": f"{profile}/tagged/{f.tag.name}",
                "statuses_count": str(usage.statuses_count),
                "last_status_at": last.astimezone(dt.UTC).date().isoformat() if last else None,
            }
        )
    return out
