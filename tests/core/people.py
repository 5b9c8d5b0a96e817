"""People for core tests: local accounts made through the service, remote ones stored as a protocol plugin would."""

from __future__ import annotations

from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.services import accounts

REMOTE = "remote.example"


def local(username: str, *, locked: bool = False) -> Account:
    account = accounts.create_local_account(username, f"{username}@example.com", "correct horse battery").account
    if locked:
        accounts.update_profile(account, locked=True)
    return account


def remote(username: str, domain: str = REMOTE) -> Account:
    account = Account(username=username, domain=domain, uri=f"https://{domain}/users/{username}")
    db.session.add(account)
    db.session.commit()
    return account
