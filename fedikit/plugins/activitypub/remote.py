"""Remote actors and objects: fetching them safely, checking who they are, storing them through core.

One :class:`~fedikit.plugins.activitypub.fetch.RemoteFetcher` per app (made
at startup) does every outbound request; its GETs are signed by the instance
actor. A fetched document counts only if its ``id`` is the URL it was fetched
from (after redirects), as Mastodon requires; an actor counts only if its
``preferredUsername`` and host resolve back to it through WebFinger (checked
when it is found by handle) and it lives on the host of its id.
"""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import undefer

from fedikit.core import jobs
from fedikit.core.db import db
from fedikit.core.errors import ValidationError
from fedikit.core.models import Account, MediaAttachment
from fedikit.core.services import accounts, domain_blocks, emojis, media
from fedikit.plugins.activitypub import parse
from fedikit.plugins.activitypub.fetch import (
    BadStatus,
    BlockedAddress,
    FetchError,
    RemoteFetcher,
    TooLarge,
    is_activitypub_content_type,
)
from fedikit.plugins.activitypub.keys import instance_actor, key_id
from fedikit.plugins.activitypub.signatures import sign_request

log = logging.getLogger("fedikit.activitypub")

EXTENSION = "activitypub"


class Unresolvable(Exception):
    """A remote account or object could not be fetched, or is not what it claims to be."""


def install(app: Flask) -> None:
    """Make the app's fetcher; GETs are signed by the instance actor (whose key is read once per process)."""
    config = app.config
    signing_key: dict[str, Any] = {}

    def sign(method: str, url: str, headers: Any, body: bytes | None) -> Any:
        if method != "GET":
            return headers  # deliveries arrive signed by their author
        if not signing_key:
            actor = instance_actor()
            signing_key.update(key_id=key_id(actor), pem=actor.private_key)
        return sign_request(method, url, headers, body, signing_key["key_id"], signing_key["pem"])

    app.extensions[EXTENSION] = RemoteFetcher(
        user_agent=f"fedikit (+{config['BASE_URL']}/)",
        allowed_private=config["ALLOWED_PRIVATE_ADDRESSES"],
        allow_http=not config["LOCAL_HTTPS"],
        sign=sign,
    )


def fetcher() -> RemoteFetcher:
    return current_app.extensions[EXTENSION]


def scheme() -> str:
    """``https``, or ``http`` on an instance run with ``LOCAL_HTTPS=false`` (local testing only)."""
    return "https" if current_app.config["LOCAL_HTTPS"] else "http"


def authority(uri: str) -> str:
    """The host (and port, if any) of a URL, lower-cased: the domain of the accounts it serves."""
    return urlsplit(uri).netloc.lower()


def suspended(uri: str) -> bool:
    """Whether the admin suspended the domain ``uri`` is on: nothing is fetched from or sent to it."""
    return domain_blocks.policy(authority(uri)).suspended


def fetch_document(uri: str) -> dict[str, Any]:
    """An ActivityPub document whose ``id`` is the URL it was finally fetched from."""
    if suspended(uri):
        raise Unresolvable(f"{authority(uri)} is suspended by this instance")
    try:
        final_url, document = fetcher().get_json(uri)
    except FetchError as exc:
        raise Unresolvable(str(exc)) from exc
    if document.get("id") != final_url:
        raise Unresolvable(f"{uri}: the document's id {document.get('id')!r} is not where it was fetched")
    return document


def store_actor(document: dict[str, Any]) -> Account:
    """Store a fetched actor document (its id already checked) as a remote account."""
    try:
        profile = parse.profile(document)
    except parse.InvalidDocument as exc:
        raise Unresolvable(f"{document.get('id')!r} is not a usable actor: {exc}") from exc
    uri = profile.pop("uri")
    domain = authority(uri)
    for link in ("inbox_url", "shared_inbox_url", "outbox_url", "followers_url", "featured_url"):
        if profile.get(link) and authority(profile[link]) != domain:
            profile[link] = None  # an actor's collections live on its own server
    if not profile.get("inbox_url"):
        raise Unresolvable(f"{uri} has no inbox on its own server")
    try:
        account = accounts.store_remote(uri, domain, **profile)
    except ValidationError as exc:
        raise Unresolvable(str(exc)) from exc
    if any(getattr(account, f"{k}_remote_url") and not getattr(account, f"{k}_key") for k in media.PROFILE_IMAGES):
        jobs.enqueue("activitypub.fetch_profile_images", queue="pull", max_attempts=3, account_id=account.id)
    if account.featured_url:  # its pinned posts, as Mastodon reads them whenever it reads the actor
        jobs.enqueue("activitypub.fetch_featured", queue="pull", max_attempts=3, account_id=account.id)
    return account


def actor(uri: str, *, refresh: bool = False) -> Account:
    """The account of the actor ``uri``: stored, or fetched and stored (``refresh`` fetches anew)."""
    stored = accounts.find_by_uri(uri)
    if stored is not None and (stored.local or not refresh):
        return stored
    return store_actor(fetch_document(uri))


def actor_for_key(key_uri: str, *, refresh: bool = False) -> Account:
    """The account whose public key ``key_uri`` (``<actor>#main-key``, or a key document) names."""
    owner_uri = key_uri.partition("#")[0]
    # The key is what the caller wants: read it with the account, not in a query of its own.
    stored = db.session.scalar(select(Account).where(Account.uri == owner_uri).options(undefer(Account.public_key)))
    if stored is not None and not refresh:
        return stored
    document = fetch_document(owner_uri)
    if "inbox" not in document and "owner" in document:  # a separate key document: its owner must claim it
        owner = actor(str(document["owner"]), refresh=True)
        if key_uri not in _key_ids(owner.uri, fetch_document(owner.uri)):
            raise Unresolvable(f"{owner.uri} does not claim the key {key_uri}")
        return owner
    if key_uri not in _key_ids(owner_uri, document):
        raise Unresolvable(f"{owner_uri} has no key {key_uri}")
    return store_actor(document)


def _key_ids(owner_uri: str, document: dict[str, Any]) -> set[str]:
    keys = parse.as_list(document.get("publicKey"))
    return {k["id"] for k in keys if isinstance(k, dict) and isinstance(k.get("id"), str)} | {owner_uri}


def webfinger(acct: str) -> Account | None:
    """Find ``user@domain`` through its server's WebFinger and store its actor; None if there is none.

    The actor must name itself as asked: its ``preferredUsername`` and the
    host of its id must give back ``acct`` (Mastodon's round-trip check).
    """
    username, _, domain = acct.partition("@")
    if domain_blocks.policy(domain).suspended:
        return None
    query = urlencode({"resource": f"acct:{username}@{domain}"})
    try:
        _, jrd = fetcher().get_json(
            f"{scheme()}://{domain}/.well-known/webfinger?{query}",
            accept="application/jrd+json, application/json",
            allow_plain_json=True,
        )
    except FetchError as exc:
        log.info("webfinger %s: %s", acct, exc)
        return None
    links = [link for link in parse.as_list(jrd.get("links")) if isinstance(link, dict)]
    self_links = [
        link["href"]
        for link in links
        if link.get("rel") == "self"
        and isinstance(link.get("href"), str)
        and is_activitypub_content_type(str(link.get("type", "")))
    ]
    if not self_links:
        return None
    try:
        found = actor(self_links[0], refresh=True)
    except Unresolvable as exc:
        log.info("webfinger %s: %s", acct, exc)
        return None
    if found.username.lower() != username.lower() or authority(found.uri) != domain.lower():
        log.info("webfinger %s: the actor %s calls itself %s", acct, found.uri, found.acct)
        return None
    return found


def fetch_media(media_id: int) -> None:
    """The ``activitypub.fetch_media`` job: copy a remote attachment's file here, under a name of ours.

    Nothing is fetched from a domain whose media the admin rejects. A file
    that cannot be fetched (after the job's retries) or is not a supported
    image, video or audio stays a link to its remote URL, as Mastodon shows it.
    """
    attachment = db.session.get(MediaAttachment, media_id)
    if attachment is None or attachment.file_key or not attachment.remote_url:
        return
    if domain_blocks.policy(authority(attachment.remote_url)).reject_media or suspended(attachment.remote_url):
        return
    limit = media.IMAGE_LIMIT if attachment.type == "image" else media.VIDEO_LIMIT
    try:
        fetched = fetcher().get_bytes(attachment.remote_url, limit)
    except (BlockedAddress, TooLarge, BadStatus) as exc:  # nothing a retry would change
        log.info("media %s: %s", attachment.remote_url, exc)
        return
    try:
        media.cache_remote(attachment, fetched.body)
    except ValidationError as exc:
        log.info("media %s is not kept: %s", attachment.remote_url, exc)


def fetch_profile_images(account_id: int) -> None:
    """The ``activitypub.fetch_profile_images`` job: copy a remote account's avatar and header here.

    They are re-encoded as local ones are (sized, metadata gone) and stored
    under names of ours; clients then load them from this server only. Not for
    a domain whose media the admin rejects. An image that cannot be had (after
    the job's retries) or is not a supported image leaves the stand-in shown.
    """
    account = db.session.get(Account, account_id)
    if account is None or account.local or account.suspended_at is not None:
        return
    wanted = {
        kind: url
        for kind in media.PROFILE_IMAGES
        if (url := getattr(account, f"{kind}_remote_url")) and not getattr(account, f"{kind}_key")
    }
    if not wanted or domain_blocks.policy(account.domain or "").reject_media:
        return
    images = {}
    for kind, url in wanted.items():
        try:
            fetched = fetcher().get_bytes(url, media.PROFILE_IMAGE_LIMIT, accept="image/*")
        except (BlockedAddress, TooLarge, BadStatus) as exc:  # nothing a retry would change
            log.info("%s of %s: %s", kind, account.uri, exc)
            continue
        try:
            images[kind] = media.process_profile_image(kind, io.BytesIO(fetched.body))
        except ValidationError as exc:
            log.info("%s of %s is not kept: %s", kind, account.uri, exc)
    db.session.refresh(account)  # the actor may have been read again meanwhile, naming other images
    still_wanted = {
        kind: image
        for kind, image in images.items()
        if getattr(account, f"{kind}_remote_url") == wanted[kind] and not getattr(account, f"{kind}_key")
    }
    if still_wanted:
        media.save_profile_images(account, still_wanted)


def fetch_emojis(domain: str, shortcodes: list[str]) -> None:
    """The ``activitypub.fetch_emojis`` job: copy the images of ``domain``'s custom emojis here.

    Each is checked (:func:`media.process_emoji_image`: an image of at most
    256 KB) and kept under names of ours; an emoji is shown once its copy
    exists. Nothing is fetched from a domain whose media the admin rejects.
    """
    if domain_blocks.policy(domain).reject_media:
        return
    for emoji in emojis.uncopied(domain, shortcodes):
        url = emoji.image_remote_url or ""
        if suspended(url):
            continue
        try:
            fetched = fetcher().get_bytes(url, media.EMOJI_LIMIT, accept="image/*")
        except (BlockedAddress, TooLarge, BadStatus) as exc:  # nothing a retry would change
            log.info("emoji :%s: of %s: %s", emoji.shortcode, domain, exc)
            continue
        try:
            media.save_emoji_image(emoji, media.process_emoji_image(fetched.body))
        except ValidationError as exc:
            log.info("emoji :%s: of %s is not kept: %s", emoji.shortcode, domain, exc)
