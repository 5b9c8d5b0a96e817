"""Finding things: full-text search through the chosen index, and resolving URLs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from fedikit.core.db import db
from fedikit.core.models import Account, Status
from fedikit.core.services import accounts as account_service
from fedikit.core.state import current
from fedikit.core.visibility import can_see, visible_to

MAX_CANDIDATES = 1000  # matches looked through when only some accounts may be answered (``among``)


def statuses(viewer: Account | None, query: str, *, limit: int = 20, offset: int = 0) -> list[Status]:
    """Statuses matching ``query`` that ``viewer`` may see, best match first."""
    index = current().search
    if "statuses" not in index.kinds:
        return []
    ids = index.search("statuses", query, limit=limit, offset=offset)
    if not ids:
        return []
    found = {s.id: s for s in db.session.scalars(select(Status).where(Status.id.in_(ids), visible_to(viewer)))}
    return [found[i] for i in ids if i in found]


def find_accounts(
    query: str, *, resolve: bool = False, limit: int = 40, offset: int = 0, among: Select[Any] | None = None
) -> list[Account]:
    """Accounts for what someone typed: a ``user@domain`` handle, a profile URL, or words for the index.

    The index matches the beginnings of words, so a name being typed finds
    its account. A handle answers its account first, then (as Mastodon's
    compose autocomplete) the accounts whose username and domain begin as it
    does: ``alice@mast`` finds ``alice@mastodon.social``. ``resolve`` fetches
    a handle or URL not stored yet (``resolve_account`` / ``resolve_object``).
    ``among``, a query of account ids, limits the answer to those accounts
    (the ones the viewer follows, say).
    """
    query = query.replace("\x00", "")  # PostgreSQL text cannot hold NUL; it names no account anyway
    handle = query.lstrip("@")
    if query.startswith(("https://", "http://")):  # first: profile URLs hold an @ too
        found, words = resolve_url(query, fetch=resolve), ""
    elif "@" in handle and " " not in handle:  # user@domain: a handle, maybe typed in part
        found = account_service.resolve(handle) if resolve else account_service.find_by_acct(handle)
        username, _, domain = handle.partition("@")
        words = username if account_service.is_local_domain(domain) else f"{username} {domain}"
    else:
        return accounts(query, limit=limit, offset=offset, among=among)
    exact: list[Account] = []
    if isinstance(found, Account) and found.suspended_at is None and not offset:
        exact = [found] if among is None or _among(found, among) else []
    others = accounts(words, limit=limit, offset=offset, among=among) if words else []
    return [*exact, *(a for a in others if a not in exact)][:limit]


def accounts(query: str, *, limit: int = 40, offset: int = 0, among: Select[Any] | None = None) -> list[Account]:
    """Accounts the index matches with ``query``, best match first (only those in ``among``, if given)."""
    index = current().search
    if "accounts" not in index.kinds:
        return []
    if among is None:
        ids = index.search("accounts", query, limit=limit, offset=offset)
    else:  # the index cannot filter: page through a bounded number of its best matches that qualify
        candidates = index.search("accounts", query, limit=MAX_CANDIDATES, offset=0)
        allowed = set(db.session.scalars(select(Account.id).where(Account.id.in_(candidates), Account.id.in_(among))))
        ids = [i for i in candidates if i in allowed][offset : offset + limit]
    found = {
        a.id: a for a in db.session.scalars(select(Account).where(Account.id.in_(ids), Account.suspended_at.is_(None)))
    }
    return [found[i] for i in ids if i in found]


def _among(account: Account, among: Select[Any]) -> bool:
    return db.session.scalar(select(Account.id).where(Account.id == account.id, Account.id.in_(among))) is not None


def resolve_url(url: str, viewer: Account | None = None, *, fetch: bool = True) -> Any:
    """The stored status or account at ``url``, else (with ``fetch``) what ``resolve_object`` fetches.

    None if neither; a status comes back only when ``viewer`` may see it.
    """
    status = db.session.scalar(select(Status).where(or_(Status.uri == url, Status.url == url)).limit(1))
    if status is None:
        account = db.session.scalar(select(Account).where(or_(Account.uri == url, Account.url == url)).limit(1))
        if account is not None:
            return account
        found = current().hook.resolve_object(url=url) if fetch else None
        if not isinstance(found, Status):
            return found
        status = found
    return status if can_see(viewer, status) else None
