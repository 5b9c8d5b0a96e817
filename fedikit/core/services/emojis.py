"""Custom emojis: remote servers' ``:shortcode:`` images, shown in the statuses that use them.

A protocol plugin hands over the emojis a received post (or profile) defines;
they are kept per server domain, so two servers' ``:blob:`` stay apart. A
status's ``emojis`` field lists the emojis of its author's server whose
shortcodes its text uses, as Mastodon's does. Images are shown from their
remote URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, tuple_

from fedikit.core.db import db
from fedikit.core.models import Account, CustomEmoji, Status

SHORTCODE = re.compile(r"\A[A-Za-z0-9_]{2,128}\Z")
USED = re.compile(r":([A-Za-z0-9_]{2,128}):")
MAX_PER_STATUS = 50


def store_remote(domain: str, found: Iterable[Mapping[str, Any]]) -> None:
    """Remember ``domain``'s emojis (``shortcode``, image ``url``, optional ``uri``); new images replace old.

    Added to the session: the caller commits with what it stores.
    """
    wanted = {e["shortcode"]: e for e in list(found)[:MAX_PER_STATUS] if SHORTCODE.match(str(e.get("shortcode", "")))}
    if not wanted:
        return
    known = {
        e.shortcode: e
        for e in db.session.scalars(
            select(CustomEmoji).where(CustomEmoji.domain == domain, CustomEmoji.shortcode.in_(wanted))
        )
    }
    for shortcode, emoji in wanted.items():
        row = known.get(shortcode) or CustomEmoji(shortcode=shortcode, domain=domain, visible_in_picker=False)
        row.image_remote_url = str(emoji["url"])
        row.uri = emoji.get("uri") or row.uri
        db.session.add(row)


def used_by(statuses: Iterable[Status]) -> dict[int, list[dict[str, Any]]]:
    """The ``emojis`` field of each remote status (by id) whose text uses its server's emojis: one query."""
    wanted: dict[int, tuple[str, set[str]]] = {}
    for status in statuses:
        author: Account = status.account
        if author.domain is None:
            continue
        codes = set(USED.findall(status.content or "")) | set(USED.findall(status.spoiler_text or ""))
        if codes:
            wanted[status.id] = (author.domain, codes)
    if not wanted:
        return {}
    pairs = {(domain, code) for domain, codes in wanted.values() for code in codes}
    rows = db.session.scalars(
        select(CustomEmoji).where(tuple_(CustomEmoji.domain, CustomEmoji.shortcode).in_(pairs), ~CustomEmoji.disabled)
    )
    by_pair = {(e.domain, e.shortcode): e for e in rows}
    return {
        status_id: [entity(by_pair[(domain, code)]) for code in sorted(codes) if (domain, code) in by_pair]
        for status_id, (domain, codes) in wanted.items()
    }


def entity(emoji: CustomEmoji) -> dict[str, Any]:
    """Mastodon's CustomEmoji."""
    return {
        "shortcode": emoji.shortcode,
        "url": emoji.image_remote_url,
        "static_url": emoji.image_remote_url,
        "visible_in_picker": emoji.visible_in_picker,
        "category": None,
    }
