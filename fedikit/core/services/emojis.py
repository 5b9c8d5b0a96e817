"""Custom emojis: remote servers' ``:shortcode:`` images, shown in the statuses that use them.

A protocol plugin hands over the emojis a received post (or profile) defines;
they are kept per server domain, so two servers' ``:blob:`` stay apart. A
status's ``emojis`` field lists the emojis of its author's server whose
shortcodes its text uses, as Mastodon's does. Their images are copies kept
here (the protocol plugin fetches them in a job, :func:`uncopied` says which):
an emoji is shown once its copy exists, so that readers never load anything
from the other server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, tuple_

from fedikit.core.db import db
from fedikit.core.models import Account, CustomEmoji, Status
from fedikit.core.services import media
from fedikit.core.state import current

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
        if row.image_remote_url != str(emoji["url"]):  # a new image: the copy of the old one goes
            media.delete_after_commit(row.image_key, row.image_static_key)
            row.image_key = row.image_static_key = None
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
        select(CustomEmoji).where(
            tuple_(CustomEmoji.domain, CustomEmoji.shortcode).in_(pairs),
            ~CustomEmoji.disabled,
            CustomEmoji.image_key.is_not(None),
        )
    )
    by_pair = {(e.domain, e.shortcode): e for e in rows}
    return {
        status_id: [entity(by_pair[(domain, code)]) for code in sorted(codes) if (domain, code) in by_pair]
        for status_id, (domain, codes) in wanted.items()
    }


def uncopied(domain: str, shortcodes: Iterable[str]) -> list[CustomEmoji]:
    """``domain``'s emojis among ``shortcodes`` whose image has no copy here yet (enabled ones only)."""
    wanted = [code for code in shortcodes if SHORTCODE.match(code)][:MAX_PER_STATUS]
    if not wanted:
        return []
    query = select(CustomEmoji).where(
        CustomEmoji.domain == domain,
        CustomEmoji.shortcode.in_(wanted),
        CustomEmoji.image_key.is_(None),
        CustomEmoji.image_remote_url.is_not(None),
        ~CustomEmoji.disabled,
    )
    return list(db.session.scalars(query))


def entity(emoji: CustomEmoji) -> dict[str, Any]:
    """Mastodon's CustomEmoji (of an emoji whose image is kept here)."""
    store = current().media
    url = store.url(emoji.image_key) if emoji.image_key else ""
    return {
        "shortcode": emoji.shortcode,
        "url": url,
        "static_url": store.url(emoji.image_static_key) if emoji.image_static_key else url,
        "visible_in_picker": emoji.visible_in_picker,
        "category": None,
    }
