"""The feed store that reads feeds straight from the statuses table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select

from fedikit.core.db import db
from fedikit.core.models import Account, Status
from fedikit.core.models import List as AccountList
from fedikit.core.pagination import newest_first, page_params, paginate
from fedikit.core.services.timelines import home_page_template, home_statuses, list_statuses


class SqlFeedStore:
    precomputed = False

    def add(self, feeds: Sequence[str], status_id: int) -> None:
        """Nothing to do: feeds are read from the statuses table."""

    def remove(self, feeds: Sequence[str], status_id: int) -> None:
        """Nothing to do: feeds are read from the statuses table."""

    def clear(self, feed: str) -> None:
        """Nothing to do: feeds are read from the statuses table."""

    def ids(
        self,
        feed: str,
        *,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        limit: int = 20,
    ) -> list[int]:
        kind, _, ident = feed.partition(":")
        if kind == "home" and ident.isdigit():  # every client polls this: a kept statement per page shape
            if db.session.get(Account, int(ident)) is None:
                return []
            template = home_page_template(
                int(ident), max_id=max_id is not None, since_id=since_id is not None, min_id=min_id is not None
            )
            params = page_params(max_id=max_id, since_id=since_id, min_id=min_id, limit=limit)
            return newest_first(list(db.session.scalars(template, params)), min_id=min_id)
        query = self._query(feed)
        if query is None:
            return []
        page = paginate(query, Status.id, max_id=max_id, since_id=since_id, min_id=min_id, limit=limit)
        return newest_first(list(db.session.scalars(page)), min_id=min_id)

    def _query(self, feed: str) -> Select[tuple[int]] | None:
        kind, _, ident = feed.partition(":")
        if not ident.isdigit():
            return None
        if kind == "home":
            owner = db.session.get(Account, int(ident))
            return home_statuses(owner) if owner is not None else None
        if kind == "list":
            feed_list = db.session.get(AccountList, int(ident))
            return list_statuses(feed_list) if feed_list is not None else None
        return None
