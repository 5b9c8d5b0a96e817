"""Which local account a WebFinger ``resource`` names, read as Mastodon's ``WebfingerResource`` reads it.

Two forms: an account address (``acct:user@domain``, the ``acct:`` optional)
on one of this instance's domains, or the actor or profile URL of a local
account. Usernames match in any case. Unlike Mastodon, a URL names an account
only on this instance's own scheme and host, and ``user@junk@domain`` names
nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app

from fedikit.core.services import accounts

if TYPE_CHECKING:
    from fedikit.core.models import Account


class InvalidResource(ValueError):
    """The resource is neither an account address nor a URL (Mastodon answers 400)."""


def local_account(resource: str) -> Account | None:
    """The local account ``resource`` names, None if it names none; InvalidResource if it is no resource at all."""
    # No real address or URL holds control characters, and PostgreSQL text cannot hold NUL.
    if not resource or any(ord(ch) < 32 or ord(ch) == 127 for ch in resource):
        raise InvalidResource(resource)
    if resource[:8].lower().startswith(("http://", "https://")):
        return _by_url(resource)
    if "@" in resource:
        return _by_address(resource)
    raise InvalidResource(resource)


def _by_address(resource: str) -> Account | None:
    address = resource[5:] if resource[:5].lower() == "acct:" else resource
    username, _, domain = address.rpartition("@")
    # is_local_domain takes "" for local: an address must name its domain.
    if not username or not domain or not accounts.is_local_domain(domain):
        return None
    return accounts.find_local(username)


def _by_url(resource: str) -> Account | None:
    try:
        url = urlsplit(resource)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    base = urlsplit(current_app.config["BASE_URL"])
    if (url.scheme.lower(), url.netloc.lower()) != (base.scheme, base.netloc) or url.query or url.fragment:
        return None
    # Both local URLs end in the username (/users/alice, /@alice); which one it is, is checked below.
    username = url.path.rpartition("/")[2].removeprefix("@")
    account = accounts.find_local(username) if username else None
    if account is None:
        return None
    asked = f"{base.scheme}://{base.netloc}{url.path}".lower()  # usernames match in any case
    return account if asked in {known.lower() for known in (account.uri, account.url) if known} else None
