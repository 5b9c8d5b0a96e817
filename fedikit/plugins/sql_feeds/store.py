"""The feed store that reads feeds straight from the statuses table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, exists, or_, select, true

from fedikit.core.db import db
from fedikit.core.models import Account, Follow, ListAccount, Status
from fedikit.core.models import List as AccountList
from fedikit.core.pagination import newest_first, paginate
from fedikit.core.visibility import hidden_by, visible_to


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
            if owner is None:
                return None
            followed = select(Follow.target_account_id).where(Follow.account_id == owner.id)
            no_reblogs_from = select(Follow.target_account_id).where(
                Follow.account_id == owner.id, Follow.show_reblogs.is_(False)
            )
            original = Status.__table__.alias("original")
            own_boosted = exists().where(original.c.id == Status.reblog_of_id, original.c.account_id == owner.id)
            authors = or_(Status.account_id == owner.id, Status.account_id.in_(followed))
            reblog_ok = or_(
                Status.reblog_of_id.is_(None),
                and_(Status.account_id.not_in(no_reblogs_from), ~own_boosted),
            )
        elif kind == "list":
            feed_list = db.session.get(AccountList, int(ident))
            if feed_list is None:
                return None
            owner = db.session.get(Account, feed_list.account_id)
            members = select(ListAccount.account_id).where(ListAccount.list_id == feed_list.id)
            authors = Status.account_id.in_(members)
            reblog_ok = true()
        else:
            return None
        return select(Status.id).where(authors, reblog_ok, visible_to(owner), ~hidden_by(owner))
