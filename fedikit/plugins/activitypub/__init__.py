"""ActivityPub: this instance's accounts as actors other servers follow, and theirs as accounts here.

Serves actors, statuses and collections as ActivityPub JSON, the instance
actor (``/actor``), and the personal and shared inboxes (see :mod:`.views`).
Core's events become activities delivered as jobs (:mod:`.outbox`,
:mod:`.delivery`); received activities are checked (:mod:`.inbox`) and
handled in jobs (:mod:`.handlers`). ``resolve_account`` finds remote accounts
through WebFinger and ``resolve_object`` fetches actors and statuses by URL
(:mod:`.remote`); every outbound request goes through one guarded client
(:mod:`.fetch`), signed with :mod:`.signatures`.

Settings (Mastodon's names): ``AUTHORIZED_FETCH`` (require signed GETs),
``ALLOWED_PRIVATE_ADDRESSES`` (CIDRs the fetcher may reach; none by default),
``LOCAL_HTTPS=false`` (use and accept ``http://`` ids: local testing only).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fedikit.plugin_api import hookimpl

if TYPE_CHECKING:
    from flask import Blueprint, Flask

    from fedikit.core.models import Account, Status


@hookimpl
def register_blueprints() -> list[Blueprint]:
    from fedikit.plugins.activitypub.views import bp

    return [bp]


@hookimpl
def register_jobs() -> Mapping[str, Callable[..., None]]:
    from fedikit.plugins.activitypub import delivery, handlers, outbox, remote

    return {
        "activitypub.process": handlers.process_batch,
        "activitypub.distribute": outbox.distribute,
        "activitypub.deliver": delivery.deliver,
        "activitypub.fetch_media": remote.fetch_media,
        "activitypub.fetch_profile_images": remote.fetch_profile_images,
        "activitypub.fetch_emojis": remote.fetch_emojis,
        "activitypub.fetch_featured": handlers.fetch_featured,
    }


@hookimpl
def protocols() -> list[str]:
    return ["activitypub"]


@hookimpl
def startup(app: Flask) -> None:
    from fedikit.plugins.activitypub import handlers, remote

    remote.install(app)
    handlers.install(app)


# -- core events become activities (see :mod:`.events`) --------------------------


def _events() -> Any:
    from fedikit.plugins.activitypub import events

    return events


@hookimpl
def status_created(status: Status) -> None:
    _events().status_created(status)


@hookimpl
def reblogged(reblog: Status) -> None:
    _events().reblogged(reblog)


@hookimpl
def status_updated(status: Status) -> None:
    _events().status_updated(status)


@hookimpl
def status_deleted(status: Status) -> None:
    _events().status_deleted(status)


@hookimpl
def unreblogged(reblog: Status) -> None:
    _events().unreblogged(reblog)


@hookimpl
def follow_requested(follower: Account, target: Account) -> None:
    _events().follow_requested(follower, target)


@hookimpl
def follow_accepted(follower: Account, target: Account) -> None:
    _events().follow_accepted(follower, target)


@hookimpl
def follow_rejected(follower: Account, target: Account) -> None:
    _events().follow_rejected(follower, target)


@hookimpl
def unfollowed(follower: Account, target: Account) -> None:
    _events().unfollowed(follower, target)


@hookimpl
def favourited(account: Account, status: Status) -> None:
    _events().favourited(account, status)


@hookimpl
def unfavourited(account: Account, status: Status) -> None:
    _events().unfavourited(account, status)


@hookimpl
def poll_voted(account: Account, status: Status, choices: list[int]) -> None:
    _events().poll_voted(account, status, choices)


@hookimpl
def pinned(account: Account, status: Status) -> None:
    _events().pinned(account, status)


@hookimpl
def unpinned(account: Account, status: Status) -> None:
    _events().unpinned(account, status)


@hookimpl
def blocked(account: Account, target: Account) -> None:
    _events().blocked(account, target)


@hookimpl
def unblocked(account: Account, target: Account) -> None:
    _events().unblocked(account, target)


@hookimpl
def account_updated(account: Account) -> None:
    _events().account_updated(account)


@hookimpl
def reported(report: Any, target: Account, statuses: list[Status]) -> None:
    _events().reported(report, target, statuses)


@hookimpl
def account_deleted(account: Account) -> None:
    _events().account_deleted(account)


@hookimpl
def account_moved(account: Account, target: Account) -> None:
    _events().account_moved(account, target)


# -- finding remote things -------------------------------------------------------


@hookimpl(trylast=True)
def resolve_account(acct: str) -> Account | None:
    from fedikit.plugins.activitypub import remote

    return remote.webfinger(acct)


@hookimpl(trylast=True)
def resolve_object(url: str) -> Account | Status | None:
    from fedikit.plugins.activitypub import handlers

    return handlers.resolve(url)
