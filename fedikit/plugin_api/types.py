"""Value objects and interfaces that hooks pass, return and implement.

Backends are ``typing.Protocol`` classes: implement the methods and the
capability attributes, nothing needs subclassing. Every backend is checked by
the conformance suite in :mod:`fedikit.plugin_api.conformance`.

Domain objects (accounts, statuses, follows) reach hooks as core's records;
the Protocols ``AccountRecord`` and ``StatusRecord`` name the attributes a
plugin may rely on. Anything else on those objects may change without notice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from fedikit.plugin_api.errors import BackendError


class Visibility(enum.StrEnum):
    """Who may see a status, with Mastodon's names."""

    PUBLIC = "public"
    UNLISTED = "unlisted"
    PRIVATE = "private"  # followers only
    DIRECT = "direct"  # mentioned accounts only


class BackendKind(enum.StrEnum):
    """The kinds of provider an instance chooses exactly one of."""

    FEEDS = "feeds"
    QUEUE = "queue"
    MEDIA = "media"
    SEARCH = "search"
    STREAMING = "streaming"
    CACHE = "cache"


# --------------------------------------------------------------------------
# Domain records, as plugins see them


class AccountRecord(Protocol):
    id: int
    username: str
    domain: str | None  # None for local accounts
    display_name: str
    note: str
    locked: bool
    bot: bool
    uri: str
    url: str | None
    created_at: dt.datetime

    @property
    def acct(self) -> str: ...

    @property
    def local(self) -> bool: ...


class StatusRecord(Protocol):
    id: int
    account_id: int
    uri: str
    text: str
    content: str
    spoiler_text: str
    sensitive: bool
    visibility: str
    language: str | None
    in_reply_to_id: int | None
    reblog_of_id: int | None
    created_at: dt.datetime
    edited_at: dt.datetime | None

    @property
    def account(self) -> AccountRecord: ...

    @property
    def local(self) -> bool: ...


class UserRecord(Protocol):
    """A local login: the person behind a local account."""

    id: int
    email: str
    role: str  # owner, admin, moderator or user
    confirmed: bool

    @property
    def account(self) -> AccountRecord: ...


@dataclasses.dataclass(frozen=True)
class PostDraft:
    """A status about to be stored, as moderation filters see it.

    A filter returns ``dataclasses.replace(draft, ...)`` to rewrite it.
    """

    author: AccountRecord
    text: str
    spoiler_text: str = ""
    sensitive: bool = False
    visibility: Visibility = Visibility.PUBLIC
    language: str | None = None
    media_ids: tuple[int, ...] = ()
    in_reply_to_id: int | None = None
    local: bool = True


@dataclasses.dataclass(frozen=True)
class RenderContext:
    """What a content renderer knows about the post it renders."""

    author: AccountRecord
    local_domain: str
    base_url: str
    mentions: Mapping[str, AccountRecord] = dataclasses.field(default_factory=dict)
    """``acct`` as typed (``alice`` or ``alice@example.com``) -> resolved account."""


@dataclasses.dataclass(frozen=True)
class RenderedContent:
    html: str
    mentioned_account_ids: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()  # hashtags as first typed, without "#"; core folds case


class ModerationFilter(Protocol):
    """One filter that inspects posts before they are stored.

    ``check`` returns ``None`` to accept the draft unchanged, a new draft to
    rewrite it, or raises :class:`~fedikit.plugin_api.errors.Reject`.
    """

    name: str

    def check(self, draft: PostDraft) -> PostDraft | None: ...


# --------------------------------------------------------------------------
# Jobs


@dataclasses.dataclass
class Job:
    """One unit of background work, as queues store and run it.

    ``name`` names a handler registered with core's job registry; ``args``
    must be JSON-serialisable so that out-of-process queues can carry it.
    """

    name: str
    args: dict[str, Any]
    id: str = ""
    queue: str = "default"
    attempt: int = 0
    max_attempts: int = 16
    batch: int = 1
    """At most this many jobs of this name may run together, as one call of a :func:`batch_job` handler."""
    batched: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    """Set by a queue that runs jobs together: the ``args`` of each, in the order queued (this job's first)."""


BATCH_ATTRIBUTE = "fedikit_batch"


def batch_job(size: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Mark a job handler (see the ``register_jobs`` hook) as taking up to ``size`` jobs in one call.

    The handler is called with one positional argument, a list of the keyword
    arguments of each job (in the order queued), and does their work together
    (one query for what they all need, one transaction). A queue combines jobs
    that wait at the same time (queued without a delay): under load a call
    gets many, when idle one. When the call raises for a list of more than
    one, each job is queued again on its own (and retried on its own if it
    fails then): one bad job does not hold back the others.
    """
    if size < 1:
        raise ValueError("a batch holds at least one job")

    def mark(handler: Callable[..., None]) -> Callable[..., None]:
        setattr(handler, BATCH_ATTRIBUTE, size)
        return handler

    return mark


def batch_size(handler: Callable[..., None]) -> int:
    """How many jobs ``handler`` takes in one call: 0 for a handler of one job's keyword arguments."""
    return int(getattr(handler, BATCH_ATTRIBUTE, 0))


def retry_delay(attempt: int, jitter: float = 0.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    Mastodon's schedule: ``attempt**4 + 15`` plus up to half of ``attempt**4``
    of jitter (pass ``jitter`` in [0, 1]). Sixteen tries span about two days.
    """
    base = attempt**4
    return base + 15 + jitter * 0.5 * base


# --------------------------------------------------------------------------
# Backends


class SearchDocuments(Protocol):
    """The documents core keeps in the search index, read from the database in id order.

    For a search backend's bulk (re)indexing (``fedikit search deploy``): the
    text of each document is what core's indexing jobs hand to
    ``SearchIndex.index``. Call inside an app context (commands and jobs run
    in one).
    """

    def count(self, kind: str, *, after_id: int = 0) -> int:
        """How many documents of ``kind`` have an id above ``after_id``."""
        ...

    def batch(self, kind: str, *, after_id: int = 0, limit: int = 1000) -> list[tuple[int, str]]:
        """``(id, text)`` of the first ``limit`` documents of ``kind`` with an id above ``after_id``, by id."""
        ...


@dataclasses.dataclass(frozen=True)
class BackendContext:
    """What a backend factory is given to build its backend."""

    config: Mapping[str, Any]
    data_dir: Path
    run_job: Callable[[Job], None]
    """Runs one job to completion in an app context; raises if the job fails."""
    search_documents: SearchDocuments | None = None
    """What a search backend indexes, to fill a new index in bulk (None where core offers no database)."""


BackendFactory = Callable[[BackendContext], Any]


def checked_media_key(key: str) -> str:
    """``key`` itself if it is a safe media key, else :class:`BackendError`: what every MediaStore checks.

    Safe: a relative path of non-empty segments, none of them ``.`` or ``..``,
    without backslashes or NUL bytes; nothing that could name a place outside
    the store.
    """
    if (
        not key
        or "\\" in key
        or "\0" in key
        or key.startswith("/")
        or any(part in ("", ".", "..") for part in key.split("/"))
    ):
        raise BackendError(f"unsafe media key {key!r}")
    return key


@runtime_checkable
class MediaStore(Protocol):
    """Stores uploaded and cached media files by key.

    Keys are server-made relative paths (``media/ab/cd/1234.png``); a store
    must refuse keys that are absolute or contain ``..`` segments.
    """

    public_urls: bool
    """True when ``url()`` points somewhere that serves files without the app."""

    def put(self, key: str, data: bytes | IO[bytes], content_type: str) -> None: ...

    def open(self, key: str) -> IO[bytes]:
        """Raise :class:`NotFound` for a missing key."""
        ...

    def delete(self, key: str) -> None:
        """Deleting a missing key is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def url(self, key: str) -> str: ...


@runtime_checkable
class FeedStore(Protocol):
    """Home and list feeds: ordered status ids per feed name.

    Feed names are ``home:<account_id>`` and ``list:<list_id>``. A
    ``precomputed`` store is filled by core's fan-out through ``add``; a store
    that is not precomputed answers ``ids`` from the database and ignores
    ``add``/``remove``.

    A precomputed store may also offer two optional methods; core uses them
    when present and otherwise falls back to ``add``:

    - ``fill(feed, status_ids)``: merge many ids into one feed at once (a
      rebuild when an idle user returns, a merge when a follow starts),
      keeping the store's size cap. Fallback: ``add([feed], id)`` per id.
    - ``add_reblog(feeds, status_id, reblog_of_id)``: add a boost, which the
      store may leave out of a home feed where the boosted status (or another
      boost of it) is already among the newest entries; returns the feeds it
      went into (live streams show it there only). Fallback: ``add``.
    """

    precomputed: bool

    def add(self, feeds: Sequence[str], status_id: int) -> None: ...

    def remove(self, feeds: Sequence[str], status_id: int) -> None: ...

    def ids(
        self,
        feed: str,
        *,
        max_id: int | None = None,
        since_id: int | None = None,
        min_id: int | None = None,
        limit: int = 20,
    ) -> list[int]:
        """Newest first; with ``min_id``, the ``limit`` ids just above it, still newest first."""
        ...

    def clear(self, feed: str) -> None: ...


@runtime_checkable
class SearchIndex(Protocol):
    """Full-text search over statuses and accounts.

    The index only finds candidate ids; core applies visibility afterwards.
    An index may also offer ``bulk_index(kind, documents) -> int``: store
    many ``(id, text)`` pairs at once (as :meth:`index` each), returning how
    many; core then indexes the statuses of a burst with one call.
    A query is plain text as a person typed it: every word in it must match
    (in any order, case aside), and nothing in it is ever read as query
    syntax, so quotes, ``*``, ``:``, ``-``, ``NEAR``, ``OR`` or a very long
    query find what their words find, or nothing, and never raise.
    """

    kinds: frozenset[str]
    """Which kinds this index can search: a subset of {"statuses", "accounts"}."""

    def index(self, kind: str, id: int, text: str) -> None:
        """Store (or replace) the document ``id`` of ``kind``.

        An account's text is its username, display name and domain.
        """
        ...

    def remove(self, kind: str, id: int) -> None: ...

    def search(self, kind: str, query: str, *, limit: int = 20, offset: int = 0) -> list[int]:
        """Ids of matching documents, best match first.

        For ``accounts`` each word of the query matches the words it begins
        (``ali`` finds ``alice``), as Mastodon's account search does for
        compose autocomplete. For ``statuses`` a word matches the whole word
        (an index may also match its other forms, as stemming does).
        """
        ...


@runtime_checkable
class JobQueue(Protocol):
    """Runs jobs in the background, retrying failures.

    A failing job is retried up to ``job.max_attempts`` times, waiting
    :func:`retry_delay` between tries (a queue may shorten waits in tests
    through its own configuration).
    """

    durable: bool
    """True when queued jobs survive a restart of the process."""

    def enqueue(self, job: Job, *, delay: float = 0.0) -> str:
        """Queue ``job``; returns its id.

        A job with ``batch`` > 1 queued without a delay may join a job of the
        same name and queue that still waits, while that one holds fewer than
        ``batch``: the queue then runs them as that job, with ``batched`` set
        to the ``args`` of each (its own first). A joined job runs whenever the
        job it joined runs, and is retried with it. A queue may also run every
        job on its own (``batched`` left empty).

        Raise (any exception) when the job could not be queued. For a durable
        queue, core then keeps the job in its outbox table and queues it again
        once ``enqueue`` succeeds (``job.id`` stays the same): jobs must be
        idempotent, as for retries.
        """
        ...

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is queued or running; False on timeout. For tests and shutdown.

        May answer False before the timeout when nothing runs and every queued job is due after it.
        """
        ...

    def close(self) -> None: ...


class Subscription(Protocol):
    def get(self, timeout: float | None = None) -> tuple[str, str] | None:
        """Next ``(channel, message)``, or None when ``timeout`` passes first."""
        ...

    def close(self) -> None: ...

    def __iter__(self) -> Iterator[tuple[str, str]]: ...


@runtime_checkable
class PubSub(Protocol):
    """Publish/subscribe for the streaming API.

    A backend may also offer ``active_channels() -> set[str]``: the channels
    that have at least one subscriber now, in every process that shares it.
    Core then skips the work of publishing to channels nobody listens to (a
    post's home-feed audience is not even computed while no one streams).
    Without it, core publishes to every channel an event concerns.
    """

    cross_process: bool
    """True when a message published in one process reaches subscribers in others."""

    def publish(self, channel: str, message: str) -> None: ...

    def subscribe(self, channels: Sequence[str]) -> Subscription: ...


@runtime_checkable
class Cache(Protocol):
    """Short-lived values and counters that expire: rate-limit windows, Idempotency-Keys.

    Keys are short strings core makes; values are strings. Every value has a
    time to live in whole seconds (at least 1). A shared cache makes the web
    processes behind one address act as one: limits count every process's
    requests, and a retried post is recognised whichever process gets it.
    """

    shared: bool
    """True when every process of the instance sees the same values."""

    def incr(self, key: str, ttl: int) -> int:
        """Add one to the counter ``key`` and return it; a new counter starts at 1 and lives ``ttl`` seconds."""
        ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: int, *, only_if_absent: bool = False) -> bool:
        """Store ``value`` for ``ttl`` seconds; with ``only_if_absent``, only if the key holds nothing. Stored?"""
        ...

    def delete(self, key: str) -> None: ...


BACKEND_PROTOCOLS: dict[BackendKind, type] = {
    BackendKind.FEEDS: FeedStore,
    BackendKind.QUEUE: JobQueue,
    BackendKind.MEDIA: MediaStore,
    BackendKind.SEARCH: SearchIndex,
    BackendKind.STREAMING: PubSub,
    BackendKind.CACHE: Cache,
}


class BackendRegistry(Protocol):
    """What ``register_backends`` receives."""

    def add(
        self,
        kind: BackendKind | str,
        name: str,
        factory: BackendFactory,
        *,
        description: str = "",
    ) -> None:
        """Offer backend ``name`` of ``kind``; ``factory(context)`` builds it when chosen."""
        ...
