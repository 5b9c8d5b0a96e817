"""Protocol handlers: domain events going out, remote things coming in.

The events below fire after the change they describe is committed. They are
how a protocol plugin (ActivityPub, for one) learns it has something to send.
Semantics for every event: all run; each implementation is called on its own,
and one that raises is logged and does not stop the others or undo the change.
Slow work (network, heavy computation) belongs in a job, not in the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fedikit.plugin_api.markers import hookspec
from fedikit.plugin_api.types import AccountRecord, StatusRecord


@hookspec
def status_created(status: StatusRecord) -> None:
    """A status was posted (a reblog is posted through ``reblogged``).

    When: after a local or remote status is stored.

    Semantics: all run, failures isolated (see module docs).

    Arguments: ``status``, the stored status; ``status.local`` tells where it came from.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def status_updated(status: StatusRecord) -> None:
    """A status was edited.

    When: after the edit and its history entry are stored.

    Semantics: all run, failures isolated.

    Arguments: ``status`` with its new text; ``status.edited_at`` is set.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def status_deleted(status: StatusRecord) -> None:
    """A status was deleted by its author.

    When: after the row is removed; ``status`` is a detached copy whose
    attributes can still be read. Boosts of it are removed with it and fire
    nothing (peers drop them when they get the delete); undoing a boost fires
    ``unreblogged``.

    Semantics: all run, failures isolated.

    Arguments: ``status``, as it was.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def follow_requested(follower: AccountRecord, target: AccountRecord) -> None:
    """``follower`` asked to follow ``target``; the request awaits approval.

    That is the case for a locked local account and for every remote account
    (whose server answers with an Accept or a Reject).

    When: after the follow request is stored.

    Semantics: all run, failures isolated.

    Arguments: ``follower``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def follow_accepted(follower: AccountRecord, target: AccountRecord) -> None:
    """``follower`` now follows ``target``.

    When: after the follow is stored: at once for an unlocked target, or when
    a locked target authorises the request.

    Semantics: all run, failures isolated.

    Arguments: ``follower``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def follow_rejected(follower: AccountRecord, target: AccountRecord) -> None:
    """``target`` rejected ``follower``'s request.

    When: after the request is removed.

    Semantics: all run, failures isolated.

    Arguments: ``follower``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def unfollowed(follower: AccountRecord, target: AccountRecord) -> None:
    """``follower`` stopped following ``target`` (or withdrew a pending request).

    When: after the follow or request is removed.

    Semantics: all run, failures isolated.

    Arguments: ``follower``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def favourited(account: AccountRecord, status: StatusRecord) -> None:
    """``account`` favourited ``status``.

    When: after the favourite is stored (not again for a repeat).

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``status``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def unfavourited(account: AccountRecord, status: StatusRecord) -> None:
    """``account`` took back a favourite of ``status``.

    When: after the favourite is removed.

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``status``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def reblogged(reblog: StatusRecord) -> None:
    """A status was boosted.

    When: after the reblog (a status whose ``reblog_of_id`` is set) is stored.

    Semantics: all run, failures isolated.

    Arguments: ``reblog``; the boosted status is ``reblog.reblog``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def unreblogged(reblog: StatusRecord) -> None:
    """A boost was undone.

    When: after the reblog row is removed; ``reblog`` is a detached copy.

    Semantics: all run, failures isolated.

    Arguments: ``reblog``, as it was.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def poll_voted(account: AccountRecord, status: StatusRecord, choices: list[int]) -> None:
    """``account`` voted in the poll of ``status``.

    When: after a local account's vote is stored (in a local or a remote
    poll; a remote poll's server must be told).

    Semantics: all run, failures isolated.

    Arguments: ``account``, the voter; ``status``, the poll's status;
    ``choices``, the option indexes picked.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def pinned(account: AccountRecord, status: StatusRecord) -> None:
    """``account`` featured its own ``status`` on its profile.

    When: after the pin is stored (not again for a repeat).

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``status``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def unpinned(account: AccountRecord, status: StatusRecord) -> None:
    """``account`` took ``status`` off its profile.

    When: after the pin is removed.

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``status``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def blocked(account: AccountRecord, target: AccountRecord) -> None:
    """``account`` blocked ``target``; follows both ways were removed.

    When: after the block is stored.

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def unblocked(account: AccountRecord, target: AccountRecord) -> None:
    """``account`` unblocked ``target``.

    When: after the block is removed.

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def muted(account: AccountRecord, target: AccountRecord) -> None:
    """``account`` muted ``target``. Mutes are private: nothing is federated.

    When: after the mute is stored.

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def unmuted(account: AccountRecord, target: AccountRecord) -> None:
    """``account`` unmuted ``target``.

    When: after the mute is removed.

    Semantics: all run, failures isolated.

    Arguments: ``account``, ``target``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def account_updated(account: AccountRecord) -> None:
    """A profile changed (name, bio, avatar, locked, fields...).

    When: after the change is stored.

    Semantics: all run, failures isolated.

    Arguments: ``account``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def reported(report: Any, target: AccountRecord, statuses: list[StatusRecord]) -> None:
    """A local user reported ``target`` (and ``statuses`` of it) to the moderators.

    When: after the report is stored.

    Semantics: all run, failures isolated.

    Arguments: ``report``, the stored report (``id``, ``comment``,
    ``category``, ``forwarded``: whether the user asked that ``target``'s
    server be told, only ever true for a remote ``target``); ``target``;
    ``statuses``, the reported statuses.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def account_deleted(account: AccountRecord) -> None:
    """A local account was deleted (its owner or an admin asked).

    When: after the account is marked suspended, before its follows and
    statuses are removed (so its followers can still be found and told).

    Semantics: all run, failures isolated.

    Arguments: ``account``.

    Returns: nothing.

    Since: 1.0
    """


@hookspec
def account_moved(account: AccountRecord, target: AccountRecord) -> None:
    """``account`` moved to ``target`` (which names it as an alias).

    When: after ``account.moved_to_account_id`` is stored, before its local
    followers are moved to ``target`` (each of those follows fires its own
    events).

    Semantics: all run, failures isolated.

    Arguments: ``account``, the old account; ``target``, the new one.

    Returns: nothing.

    Since: 1.0
    """


@hookspec(firstresult=True)
def resolve_account(acct: str) -> AccountRecord | None:
    """Find or fetch a remote account by handle.

    When: when core is asked for ``user@domain`` and has no such account
    stored (search with ``resolve=true``, mentions of unknown accounts).

    Semantics: first answer wins.

    Arguments: ``acct``, ``user@domain`` without a leading ``@``, lower-cased
    domain.

    Returns: the stored account (the plugin stores what it fetched through
    core's services), or None when it cannot be resolved.

    Since: 1.0
    """


@hookspec(firstresult=True)
def resolve_object(url: str) -> AccountRecord | StatusRecord | None:
    """Find or fetch a remote account or status by URL.

    When: when core is asked for a URL it has not stored (search with
    ``resolve=true``).

    Semantics: first answer wins.

    Arguments: ``url``, an ``https://`` URL.

    Returns: the stored account or status, or None.

    Since: 1.0
    """


@hookspec
def protocols() -> list[str] | None:
    """The federation protocols a plugin speaks, by their NodeInfo names.

    When: whenever the instance says what it speaks (NodeInfo's ``protocols``).

    Semantics: all run; the names are merged, each listed once.

    Arguments: none.

    Returns: names such as ``["activitypub"]``, or None.

    Since: 1.0
    """


@hookspec
def activity_handlers() -> Mapping[str, Callable[[dict[str, Any], AccountRecord], None]] | None:
    """Handlers of received activities, by activity type, for a protocol plugin that dispatches by type.

    The bundled ActivityPub plugin asks for them: a plugin can handle a type
    it does not (``"Bite"``, ``"EmojiReact"``...), or do more with one it does.

    When: once, when the app starts.

    Semantics: all run; the mappings are merged. For a type nobody else
    handles, the handler is the one that runs; for a type the protocol plugin
    handles, it runs after the protocol plugin's own handler. Handlers run in
    a background job, after the activity's signature and actor were checked;
    one that raises is logged and does not stop the others.

    Arguments: none.

    Returns: a mapping of activity type to a function taking the activity
    (the received JSON object) and the account of its verified actor; or None.

    Since: 1.0
    """
