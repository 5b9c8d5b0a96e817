"""The streams a client may open, the pub/sub channels behind each, and who may open them.

Stream names are Mastodon's (``user``, ``public:local:media``, ``hashtag``,
``list``...). Channel names are the pub/sub backend's; :mod:`.publish`
writes to the same names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.models import List as AccountList

PUBLIC_STREAMS = frozenset(
    {
        "public",
        "public:media",
        "public:local",
        "public:local:media",
        "public:remote",
        "public:remote:media",
    }
)
STREAMS = PUBLIC_STREAMS | {"user", "user:notification", "hashtag", "hashtag:local", "list", "direct"}

# The scopes a token needs for each stream: any one of them (``read`` covers both).
SCOPES = {"user:notification": ("read:notifications",)}
DEFAULT_SCOPES = ("read:statuses",)

MAX_TAG_LENGTH = 100  # longer than any hashtag core stores


class StreamError(Exception):
    """A stream that cannot be opened: Mastodon's status code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True)
class Stream:
    """One stream of one connection: ``user``, or ``hashtag`` with its tag, or ``list`` with its id."""

    name: str
    tag: str = ""
    list_id: int = 0

    @property
    def label(self) -> list[str]:
        """What each event names as its ``stream`` (WebSocket): ``["hashtag", "cats"]``, ``["user"]``."""
        if self.tag:
            return [self.name, self.tag]
        if self.list_id:
            return [self.name, str(self.list_id)]
        return [self.name]

    def channels(self, viewer: Account) -> list[str]:
        return channels_of(self, viewer.id)


def channels_of(stream: Stream, viewer_id: int) -> list[str]:
    name = stream.name
    if name in ("user", "user:notification"):
        return [user_channel(viewer_id)]
    if name in PUBLIC_STREAMS:
        return [f"timeline:{name}"]
    if name == "hashtag":
        return [hashtag_channel(stream.tag)]
    if name == "hashtag:local":
        return [hashtag_channel(stream.tag, local=True)]
    if name == "list":
        return [list_channel(stream.list_id)]
    if name == "direct":
        return [direct_channel(viewer_id)]
    raise StreamError(400, "Unknown stream type")


def user_channel(account_id: int) -> str:
    return f"timeline:{account_id}"


def list_channel(list_id: int) -> str:
    return f"timeline:list:{list_id}"


def direct_channel(account_id: int) -> str:
    return f"timeline:direct:{account_id}"


def hashtag_channel(tag: str, *, local: bool = False) -> str:
    return f"timeline:hashtag:{tag.lower()}{':local' if local else ''}"


def token_channel(token_id: int) -> str:
    """Where a token's revocation is announced: every stream opened with it closes."""
    return f"timeline:access_token:{token_id}"


def public_channels(*, local: bool, media: bool) -> list[str]:
    """The public streams' channels a public status goes to."""
    origin = "local" if local else "remote"
    channels = ["timeline:public", f"timeline:public:{origin}"]
    if media:
        channels += ["timeline:public:media", f"timeline:public:{origin}:media"]
    return channels


def resolve(name: str | None, params: Mapping[str, str], viewer: Account) -> Stream:
    """The stream ``name`` with its parameters (``tag``, ``list``, ``only_media``), checked for ``viewer``."""
    name = (name or "").strip()
    if name in ("public", "public:local", "public:remote") and _true(params.get("only_media")):
        name = f"{name}:media"
    if name not in STREAMS:
        raise StreamError(400, "Unknown stream type")
    if name.startswith("hashtag"):
        tag = (params.get("tag") or "").strip().lstrip("#")
        if not tag or len(tag) > MAX_TAG_LENGTH:
            raise StreamError(400, "No tag for stream provided")
        return Stream(name, tag=tag)
    if name == "list":
        raw = str(params.get("list") or "").strip()
        owned = db.session.get(AccountList, int(raw)) if raw.isdigit() and len(raw) < 20 else None
        if owned is None or owned.account_id != viewer.id:
            raise StreamError(404, "Record not found")
        return Stream(name, list_id=owned.id)
    return Stream(name)


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "on", "yes")
