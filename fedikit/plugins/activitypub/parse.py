"""Reading hostile remote ActivityPub JSON into plain, bounded values.

Remote documents are untrusted: any field may be missing, of the wrong type, a
single value where a list is usual (or the reverse), huge, or carry script and
``javascript:`` links. These functions never raise on such input except
:class:`InvalidDocument` for documents that can't be used at all; everything
else is dropped, clamped or defaulted, so the caller can write the result
straight into model rows. All HTML goes through
:func:`fedikit.core.sanitize.sanitize_html`. Pure functions: no database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from typing import Any
from urllib.parse import urlsplit

from fedikit.core.sanitize import plain_text, sanitize_html

PUBLIC_ADDRESSES = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
NOTE_TYPES = frozenset({"Note", "Question", "Article", "Page", "Image", "Video", "Audio", "Event"})
#: Types Mastodon "converts": shown by their ``name`` with a link to the original when they have no content.
CONVERTED_TYPES = frozenset({"Article", "Page", "Image", "Video", "Audio", "Event"})

MAX_URL = 2048
MAX_USERNAME = 255
MAX_DISPLAY_NAME = 255
MAX_NOTE = 20_000
MAX_FIELDS = 16
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 2047
MAX_ALSO_KNOWN_AS = 20
MAX_CONTENT = 100_000
MAX_SPOILER = 1_000
MAX_MENTIONS = 50
MAX_HASHTAGS = 30
MAX_HASHTAG = 256
MAX_ATTACHMENTS = 4
MAX_DESCRIPTION = 1_500
MAX_ADDRESSES = 1_000
FUTURE_SLACK = dt.timedelta(days=1)

_WHITESPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_HASHTAG = re.compile(r"\w+")
_LANGUAGE = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
_BLURHASH = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,128}")


class InvalidDocument(ValueError):
    """A remote document that can't be used at all (wrong type, missing id or required field)."""


def as_list(value: Any) -> list[Any]:
    """A JSON-LD value as a list: ``None`` → ``[]``, a scalar or object → ``[value]``, a list as is."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def object_id(value: Any) -> str | None:
    """The id of a reference: the string itself, or an embedded object's ``id`` string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def is_public(addr: Any) -> bool:
    """Whether an address is the public collection, in any of the three spellings peers use."""
    return isinstance(addr, str) and addr in PUBLIC_ADDRESSES


def http_url(value: Any) -> str | None:
    """``value`` if it is a plausible http(s) URL (with a host, no whitespace, bounded length), else ``None``."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL or _WHITESPACE_OR_CONTROL.search(value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value


def _href(value: Any) -> str | None:
    """The first http(s) URL in a ``url``-like value: a string, a ``Link`` dict (``href``) or a list of them."""
    for item in as_list(value)[:MAX_ADDRESSES]:
        if isinstance(item, str):
            found = http_url(item)
        elif isinstance(item, dict):
            found = http_url(item.get("href"))
        else:
            found = None
        if found:
            return found
    return None


def _image_url(value: Any) -> str | None:
    """The URL of an ``icon``/``image``: an Image dict (or list of them) whose ``url`` is a string or Link."""
    for item in as_list(value)[:MAX_ADDRESSES]:
        if isinstance(item, str):
            found = http_url(item)
        elif isinstance(item, dict):
            found = _href(item.get("url"))
        else:
            found = None
        if found:
            return found
    return None


def _string(value: Any, limit: int) -> str:
    """A string value cut to ``limit`` characters; anything that isn't a string → ``""``."""
    return value[:limit] if isinstance(value, str) else ""


def _plain(value: Any, limit: int) -> str:
    """Plain text from a possibly-HTML string: tags stripped, entities decoded, cut to ``limit``."""
    if not isinstance(value, str):
        return ""
    # Bound the work first: the text can only shrink when tags are stripped.
    return plain_text(value[: limit * 20])[:limit]


def _html(value: Any, limit: int) -> str:
    """Sanitised HTML from a string capped at ``limit`` characters before sanitising."""
    return sanitize_html(value[:limit]) if isinstance(value, str) else ""


def _public_key(doc: dict[str, Any], uri: str) -> str:
    """The PEM of the embedded key owned by this actor (``publicKey`` may be one dict or a list)."""
    for key in as_list(doc.get("publicKey"))[:MAX_ADDRESSES]:
        if isinstance(key, dict) and key.get("owner") == uri and isinstance(key.get("publicKeyPem"), str):
            return key["publicKeyPem"]
    return ""


def _fields(value: Any) -> list[dict[str, str]]:
    """Profile fields from ``attachment``: ``PropertyValue`` items only, at most 16."""
    fields: list[dict[str, str]] = []
    for item in as_list(value):
        if len(fields) >= MAX_FIELDS:
            break
        if not isinstance(item, dict) or item.get("type") != "PropertyValue":
            continue
        name = _plain(item.get("name"), MAX_FIELD_NAME).strip()
        if not name:
            continue
        fields.append({"name": name, "value": _html(item.get("value"), MAX_FIELD_VALUE)})
    return fields


def profile(doc: dict[str, Any]) -> dict[str, Any]:
    """Keyword values for an :class:`~fedikit.core.models.accounts.Account` row from a remote actor document."""
    if not isinstance(doc, dict):
        raise InvalidDocument("actor is not an object")
    type_ = doc.get("type")
    if not isinstance(type_, str) or type_ not in ACTOR_TYPES:
        raise InvalidDocument(f"unsupported actor type {type_!r}")
    uri = http_url(doc.get("id"))
    if uri is None:
        raise InvalidDocument("actor id is not an http(s) URL")
    username = doc.get("preferredUsername")
    if (
        not isinstance(username, str)
        or not 1 <= len(username) <= MAX_USERNAME
        or "@" in username
        or _WHITESPACE_OR_CONTROL.search(username)
    ):
        raise InvalidDocument("actor has no usable preferredUsername")
    inbox = http_url(doc.get("inbox"))
    if inbox is None:
        raise InvalidDocument("actor has no http(s) inbox")
    endpoints = doc.get("endpoints")
    also_known_as = [url for url in map(http_url, as_list(doc.get("alsoKnownAs"))[:MAX_ADDRESSES]) if url]
    return {
        "username": username,
        "uri": uri,
        "display_name": _string(doc.get("name"), MAX_DISPLAY_NAME),
        "note": _html(doc.get("summary"), MAX_NOTE),
        "fields": _fields(doc.get("attachment")),
        "locked": doc.get("manuallyApprovesFollowers") is True,
        "bot": type_ in ("Service", "Application"),
        "group": type_ == "Group",
        "discoverable": doc.get("discoverable") is True,
        "indexable": doc.get("indexable") is True,
        "memorial": doc.get("memorial") is True,
        "url": _href(doc.get("url")),
        "inbox_url": inbox,
        "shared_inbox_url": http_url(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None,
        "outbox_url": http_url(object_id(doc.get("outbox"))),
        "followers_url": http_url(object_id(doc.get("followers"))),
        "featured_url": http_url(object_id(doc.get("featured"))),
        "public_key": _public_key(doc, uri),
        "avatar_remote_url": _image_url(doc.get("icon")),
        "header_remote_url": _image_url(doc.get("image")),
        "also_known_as": list(dict.fromkeys(also_known_as))[:MAX_ALSO_KNOWN_AS],
    }


def _addresses(value: Any) -> list[str]:
    """A ``to``/``cc`` value as a list of address strings (embedded objects by id), at most 1,000."""
    found = (object_id(item) for item in as_list(value)[:MAX_ADDRESSES])
    return [addr for addr in found if addr]


def visibility(obj: dict[str, Any], activity: dict[str, Any] | None, *, followers_url: str | None) -> str:
    """``public``/``unlisted``/``private``/``direct`` from addressing, in Mastodon's order.

    Field by field, the object's ``to`` (or ``cc``) decides, and the activity's
    stands in where the object has none (Mastodon's ``object.to || activity.to``).
    """
    to, cc = _addresses(obj.get("to")), _addresses(obj.get("cc"))
    if isinstance(activity, dict):
        to = to or _addresses(activity.get("to"))
        cc = cc or _addresses(activity.get("cc"))
    if any(is_public(addr) for addr in to):
        return "public"
    if any(is_public(addr) for addr in cc):
        return "unlisted"
    if followers_url and (followers_url in to or followers_url in cc):
        return "private"
    return "direct"


@dataclasses.dataclass(frozen=True)
class ParsedNote:
    """The usable, bounded parts of a remote Note (or converted Article, Page…)."""

    uri: str
    type: str
    attributed_to: str
    url: str
    content: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    published: dt.datetime
    updated: dt.datetime | None
    in_reply_to: str | None
    mentions: list[str]
    hashtags: list[str]
    attachments: list[dict[str, Any]]
    to: list[str]
    cc: list[str]


def _datetime(value: Any, now: dt.datetime) -> dt.datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime; ``None`` if unparseable; clamped to ``now`` if the future."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    return now if moment > now + FUTURE_SLACK else moment


def _language(content_map: Any) -> str | None:
    """The first key of ``contentMap`` if it looks like a language tag."""
    if not isinstance(content_map, dict):
        return None
    key = next(iter(content_map), None)
    if isinstance(key, str) and len(key) <= 16 and _LANGUAGE.fullmatch(key):
        return key
    return None


def _content(doc: dict[str, Any], type_: str, url: str) -> str:
    """Sanitised HTML body; converted types with no content become their name plus a link to the original."""
    raw = doc.get("content")
    if not (isinstance(raw, str) and raw.strip()):
        content_map = doc.get("contentMap")
        first = next(iter(content_map.values()), None) if isinstance(content_map, dict) and content_map else None
        raw = first if isinstance(first, str) else ""
    if raw.strip() or type_ not in CONVERTED_TYPES:
        return _html(raw, MAX_CONTENT)
    name = _plain(doc.get("name"), MAX_CONTENT)
    link = html.escape(url)
    parts = [f"<p>{html.escape(name)}</p>"] if name.strip() else []
    parts.append(f'<p><a href="{link}">{link}</a></p>')
    return sanitize_html("".join(parts))


def _tags(value: Any) -> tuple[list[str], list[str]]:
    """Mention hrefs (http(s), at most 50) and hashtag names (lower-case, word characters, at most 30)."""
    mentions: dict[str, None] = {}
    hashtags: dict[str, None] = {}
    for item in as_list(value):
        if len(mentions) >= MAX_MENTIONS and len(hashtags) >= MAX_HASHTAGS:
            break
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "Mention" and len(mentions) < MAX_MENTIONS:
            href = http_url(item.get("href"))
            if href:
                mentions[href] = None
        elif kind == "Hashtag" and len(hashtags) < MAX_HASHTAGS:
            name = item.get("name")
            if isinstance(name, str):
                name = name.strip().removeprefix("#").lower()
                if len(name) <= MAX_HASHTAG and _HASHTAG.fullmatch(name):
                    hashtags[name] = None
    return list(mentions), list(hashtags)


def _focus(value: Any) -> tuple[float, float] | None:
    """A ``focalPoint`` ``[x, y]`` as floats clamped to [-1, 1]."""
    if not isinstance(value, list) or len(value) != 2:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    x, y = (float(v) for v in value)
    if x != x or y != y:  # NaN
        return None
    return max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y))


def _dimension(value: Any) -> int | None:
    """A positive pixel size, or ``None``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1_000_000:
        return value
    return None


def _attachments(value: Any) -> list[dict[str, Any]]:
    """Media attachments with an http(s) URL, at most 4."""
    attachments: list[dict[str, Any]] = []
    for item in as_list(value):
        if len(attachments) >= MAX_ATTACHMENTS:
            break
        if not isinstance(item, dict):
            continue
        url = _href(item.get("url"))
        if url is None:
            continue
        media_type = item.get("mediaType")
        blurhash = item.get("blurhash")
        description = _string(item.get("name"), MAX_DESCRIPTION)
        attachments.append(
            {
                "url": url,
                "media_type": media_type if isinstance(media_type, str) and len(media_type) <= 255 else None,
                "description": description or None,
                "blurhash": blurhash if isinstance(blurhash, str) and _BLURHASH.fullmatch(blurhash) else None,
                "focus": _focus(item.get("focalPoint")),
                "width": _dimension(item.get("width")),
                "height": _dimension(item.get("height")),
            }
        )
    return attachments


def note(doc: dict[str, Any]) -> ParsedNote:
    """The bounded, sanitised parts of a remote status object; :class:`InvalidDocument` if unusable."""
    if not isinstance(doc, dict):
        raise InvalidDocument("object is not an object")
    type_ = doc.get("type")
    if not isinstance(type_, str) or type_ not in NOTE_TYPES:
        raise InvalidDocument(f"unsupported object type {type_!r}")
    uri = http_url(doc.get("id"))
    if uri is None:
        raise InvalidDocument("object id is not an http(s) URL")
    attributed_to = next((a for a in map(object_id, as_list(doc.get("attributedTo"))[:MAX_ADDRESSES]) if a), None)
    attributed_to = http_url(attributed_to)
    if attributed_to is None:
        raise InvalidDocument("object has no attributedTo")
    url = _href(doc.get("url")) or uri
    spoiler_text = _plain(doc.get("summary"), MAX_SPOILER)
    now = dt.datetime.now(dt.UTC)
    mentions, hashtags = _tags(doc.get("tag"))
    return ParsedNote(
        uri=uri,
        type=type_,
        attributed_to=attributed_to,
        url=url,
        content=_content(doc, type_, url),
        spoiler_text=spoiler_text,
        sensitive=doc.get("sensitive") is True or bool(spoiler_text),
        language=_language(doc.get("contentMap")),
        published=_datetime(doc.get("published"), now) or now,
        updated=_datetime(doc.get("updated"), now),
        in_reply_to=http_url(object_id(doc.get("inReplyTo"))),
        mentions=mentions,
        hashtags=hashtags,
        attachments=_attachments(doc.get("attachment")),
        to=_addresses(doc.get("to")),
        cc=_addresses(doc.get("cc")),
    )


MAX_POLL_OPTIONS = 16
MAX_POLL_OPTION = 255
FAR_FUTURE = dt.timedelta(days=366)


def poll(doc: dict[str, Any]) -> dict[str, Any] | None:
    """A ``Question``'s poll as keyword values for core (options, tallies, multiple, expires_at, voters_count).

    ``anyOf`` makes it multiple-choice, ``oneOf`` single; each option's count
    is its ``replies.totalItems``. None for anything that is not a usable
    Question (no options, or an option without a name).
    """
    if not isinstance(doc, dict) or doc.get("type") != "Question":
        return None
    multiple = bool(as_list(doc.get("anyOf")))
    items = [item for item in as_list(doc.get("anyOf" if multiple else "oneOf"))[:MAX_POLL_OPTIONS]]
    options: list[str] = []
    tallies: list[int] = []
    for item in items:
        name = _plain(item.get("name"), MAX_POLL_OPTION).strip() if isinstance(item, dict) else ""
        if not name:
            return None
        replies = item.get("replies")
        total = replies.get("totalItems") if isinstance(replies, dict) else 0
        options.append(name)
        tallies.append(total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else 0)
    if not options:
        return None
    now = dt.datetime.now(dt.UTC)
    end = _datetime(doc.get("endTime"), now + FAR_FUTURE) or _datetime(doc.get("closed"), now)
    voters = doc.get("votersCount")
    return {
        "options": options,
        "tallies": tallies,
        "multiple": multiple,
        "expires_at": end,
        "voters_count": voters if isinstance(voters, int) and not isinstance(voters, bool) and voters >= 0 else None,
    }


def vote(doc: dict[str, Any]) -> tuple[str, str] | None:
    """``(question_uri, option_name)`` when ``doc`` is a poll vote: a Note with a ``name``, no content,
    replying to the Question (as Mastodon sends each choice); else None."""
    if not isinstance(doc, dict) or doc.get("type") != "Note" or doc.get("content"):
        return None
    name, question = doc.get("name"), object_id(doc.get("inReplyTo"))
    if not isinstance(name, str) or not name.strip() or not question:
        return None
    return question, name.strip()[:MAX_POLL_OPTION]


MAX_EMOJIS = 50
_SHORTCODE = re.compile(r":?([A-Za-z0-9_]{2,128}):?")


def emojis(doc: dict[str, Any]) -> list[dict[str, str | None]]:
    """The custom emojis a document's ``tag`` defines (``Emoji`` with ``name`` ``:code:`` and an image),
    as ``{"shortcode", "url", "uri"}``, at most 50."""
    found: dict[str, dict[str, str | None]] = {}
    for item in as_list(doc.get("tag") if isinstance(doc, dict) else None):
        if len(found) >= MAX_EMOJIS:
            break
        if not isinstance(item, dict) or item.get("type") != "Emoji" or not isinstance(item.get("name"), str):
            continue
        code = _SHORTCODE.fullmatch(item["name"].strip())
        url = _image_url(item.get("icon"))
        if code and url and code.group(1) not in found:
            uri = item.get("id")
            found[code.group(1)] = {"shortcode": code.group(1), "url": url, "uri": http_url(uri)}
    return list(found.values())
