"""Outgoing ActivityPub JSON documents, shaped the way Mastodon writes and expects them.

Every function here is pure: it takes the model objects (or anything with the
same attributes) and the URLs the caller has already worked out, and returns a
plain ``dict`` ready for ``json.dumps``. Nothing queries the database or reads
the Flask request, so the documents can be built in a worker or a test alike.

Top-level documents (actors, activities, collections) carry ``@context``;
objects embedded in an activity (:func:`note`, :func:`tombstone`) do not.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
from typing import Any
from urllib.parse import urlsplit

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

#: The JSON-LD context Mastodon writes: the two remote contexts every peer knows,
#: plus Mastodon's extension terms inline (no other remote context URLs, which
#: peers would have to fetch or would reject).
CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "toot": "http://joinmastodon.org/ns#",
        "Emoji": "toot:Emoji",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
        "memorial": "toot:memorial",
        "suspended": "toot:suspended",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        "blurhash": "toot:blurhash",
        "votersCount": "toot:votersCount",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
    },
]


def iso(moment: dt.datetime) -> str:
    """A datetime as UTC ``YYYY-MM-DDTHH:MM:SSZ`` (naive values are taken to be UTC already)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image(url: str) -> dict[str, str]:
    """An ``Image`` object for an avatar or header, with a media type guessed from the file extension."""
    image = {"type": "Image"}
    media_type, _ = mimetypes.guess_type(urlsplit(url).path)
    if media_type:
        image["mediaType"] = media_type
    image["url"] = url
    return image


def _public_key(uri: str, pem: str) -> dict[str, str]:
    """The embedded key Mastodon looks up as ``<actor>#main-key``."""
    return {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": pem}


def actor(
    account: Any,
    *,
    avatar_url: str | None,
    header_url: str | None,
    shared_inbox: str,
    moved_to_uri: str | None = None,
) -> dict[str, Any]:
    """The actor document of a local account (Person, or Service for bots, Group for groups)."""
    uri: str = account.uri
    if account.group:
        type_ = "Group"
    elif account.bot:
        type_ = "Service"
    else:
        type_ = "Person"
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": uri,
        "type": type_,
        "following": f"{uri}/following",
        "followers": f"{uri}/followers",
        "inbox": f"{uri}/inbox",
        "outbox": f"{uri}/outbox",
        "featured": f"{uri}/collections/featured",
        "featuredTags": f"{uri}/collections/tags",
        "preferredUsername": account.username,
        "name": account.display_name or "",
        "summary": account.note or "",
        "url": account.url or uri,
        "manuallyApprovesFollowers": bool(account.locked),
        "discoverable": bool(account.discoverable),
        "indexable": bool(account.indexable),
        "memorial": bool(account.memorial),
        "published": iso(account.created_at),
        "publicKey": _public_key(uri, account.public_key or ""),
        "endpoints": {"sharedInbox": shared_inbox},
        "attachment": [
            {"type": "PropertyValue", "name": field.get("name", ""), "value": field.get("value", "")}
            for field in (account.fields or [])
        ],
        "tag": [],
    }
    if account.also_known_as:
        doc["alsoKnownAs"] = list(account.also_known_as)
    if moved_to_uri:
        doc["movedTo"] = moved_to_uri
    if avatar_url:
        doc["icon"] = _image(avatar_url)
    if header_url:
        doc["image"] = _image(header_url)
    return doc


def instance_actor(
    *, uri: str, username: str, public_key: str, inbox: str, shared_inbox: str, url: str
) -> dict[str, Any]:
    """The server's own actor, which signs fetches; locked, so nobody can follow it."""
    return {
        "@context": CONTEXT,
        "id": uri,
        "type": "Application",
        "preferredUsername": username,
        "inbox": inbox,
        "outbox": f"{uri}/outbox",
        "url": url,
        "manuallyApprovesFollowers": True,
        "publicKey": _public_key(uri, public_key),
        "endpoints": {"sharedInbox": shared_inbox},
    }


def addressing(visibility: str, *, followers_url: str, mentioned: list[str]) -> tuple[list[str], list[str]]:
    """``(to, cc)`` for a status of this visibility, as Mastodon's ``TagManager`` addresses it."""
    if visibility == "public":
        return [PUBLIC], [followers_url, *mentioned]
    if visibility == "unlisted":
        return [followers_url], [PUBLIC, *mentioned]
    if visibility == "private":
        return [followers_url, *mentioned], []
    if visibility == "direct":
        return list(mentioned), []
    raise ValueError(f"unknown visibility {visibility!r}")


def note(
    status: Any,
    *,
    in_reply_to_uri: str | None,
    mentions: list[tuple[str, str]],
    tags: list[str],
    media: list[dict[str, Any]],
    base_url: str,
) -> dict[str, Any]:
    """A status as an embedded ``Note`` (no ``@context``); ``mentions`` are ``(actor uri, "@user@domain")``."""
    account_uri: str = status.account.uri
    to, cc = addressing(
        status.visibility,
        followers_url=f"{account_uri}/followers",
        mentioned=[uri for uri, _ in mentions],
    )
    tag: list[dict[str, str]] = [{"type": "Mention", "href": uri, "name": name} for uri, name in mentions]
    base = base_url.rstrip("/")
    tag += [{"type": "Hashtag", "href": f"{base}/tags/{name}", "name": f"#{name}"} for name in tags]
    doc: dict[str, Any] = {
        "id": status.uri,
        "type": "Note",
        "summary": status.spoiler_text or None,
        "inReplyTo": in_reply_to_uri,
        "published": iso(status.created_at),
        "url": status.url or status.uri,
        "attributedTo": account_uri,
        "to": to,
        "cc": cc,
        "sensitive": bool(status.sensitive),
        "content": status.content or "",
    }
    if status.edited_at is not None:
        doc["updated"] = iso(status.edited_at)
    if status.language:
        doc["contentMap"] = {status.language: doc["content"]}
    doc["attachment"] = list(media)
    doc["tag"] = tag
    return doc


def attachment(
    media_type: str,
    url: str,
    *,
    description: str | None,
    blurhash: str | None,
    width: int | None,
    height: int | None,
    focus: tuple[float, float] | None,
) -> dict[str, Any]:
    """One media attachment as a ``Document``; ``name`` carries the alt text. ``None`` values are left out."""
    doc: dict[str, Any] = {"type": "Document", "mediaType": media_type, "url": url}
    if description:
        doc["name"] = description
    if blurhash:
        doc["blurhash"] = blurhash
    if focus is not None:
        doc["focalPoint"] = [float(focus[0]), float(focus[1])]
    if width is not None:
        doc["width"] = width
    if height is not None:
        doc["height"] = height
    return doc


def activity(
    type_: str,
    *,
    id: str,
    actor: str,
    object: Any,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    published: str | None = None,
) -> dict[str, Any]:
    """A top-level activity (Follow, Accept, Delete, Announce…) with ``@context``; unset fields are left out."""
    doc: dict[str, Any] = {"@context": CONTEXT, "id": id, "type": type_, "actor": actor}
    if published is not None:
        doc["published"] = published
    if to is not None:
        doc["to"] = list(to)
    if cc is not None:
        doc["cc"] = list(cc)
    doc["object"] = object
    return doc


def create(note_dict: dict[str, Any], *, published: str | None = None) -> dict[str, Any]:
    """``Create`` wrapping a note: id ``<note id>/activity``, addressed exactly like the note.

    ``published`` defaults to the note's own.
    """
    return activity(
        "Create",
        id=f"{note_dict['id']}/activity",
        actor=note_dict["attributedTo"],
        object=note_dict,
        to=note_dict.get("to", []),
        cc=note_dict.get("cc", []),
        published=published if published is not None else note_dict.get("published"),
    )


def tombstone(uri: str) -> dict[str, str]:
    """What a deleted object becomes inside a ``Delete``."""
    return {"id": uri, "type": "Tombstone"}


def ordered_collection(id: str, total: int, first: str | None = None) -> dict[str, Any]:
    """An ``OrderedCollection`` summary (followers, outbox…): its size and, if given, the first page's URL."""
    doc: dict[str, Any] = {"@context": CONTEXT, "id": id, "type": "OrderedCollection", "totalItems": total}
    if first is not None:
        doc["first"] = first
    return doc
