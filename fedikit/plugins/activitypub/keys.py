"""Key pairs of local actors, and the instance actor that signs this server's own fetches.

Every local account gets an RSA-2048 key pair the first time federation needs
it (serving its actor, signing a delivery). Generating costs ~100 ms, so it
is done once and stored; two processes racing to make the first pair agree on
whichever was stored first.

The instance actor is the server itself (Mastodon's ``/actor``, an
``Application``): it signs GET requests (actor, key and object fetches) so that
servers in authorized-fetch mode answer them, and it is served without
requiring a signature, or two such servers could never meet. It is stored
as a local account named after ``LOCAL_DOMAIN`` (a name core reserves), with
no user behind it, so its keys live where every other actor's do.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import undefer

from fedikit.core.db import commit_unless_duplicate, db
from fedikit.core.models import Account
from fedikit.core.state import current
from fedikit.plugins.activitypub.signatures import generate_key_pair

INSTANCE_ACTOR_PATH = "/actor"


def key_id(account: Account) -> str:
    return f"{account.uri}#main-key"


def ensure_keys(account: Account) -> tuple[str, str]:
    """``(private_pem, public_pem)`` of a local account, made and stored on first use."""
    if not account.local:
        raise ValueError(f"{account.acct} is remote: its private key is not ours")
    if account.private_key:
        return account.private_key, account.public_key
    private_pem, public_pem = generate_key_pair()
    db.session.execute(
        update(Account)
        .where(Account.id == account.id, Account.private_key.is_(None))
        .values(private_key=private_pem, public_key=public_pem)
    )
    db.session.commit()
    db.session.refresh(account, ["private_key", "public_key"])  # another process may have stored its pair first
    return account.private_key or private_pem, account.public_key


def instance_actor() -> Account:
    """The instance actor's account, made (with its keys) on first use."""
    config = current().config
    uri = config["BASE_URL"] + INSTANCE_ACTOR_PATH
    query = select(Account).where(Account.uri == uri).options(undefer(Account.private_key), undefer(Account.public_key))
    account = db.session.scalar(query)
    if account is None:
        private_pem, public_pem = generate_key_pair()
        account = Account(
            username=config["LOCAL_DOMAIN"],
            domain=None,
            uri=uri,
            url=config["BASE_URL"] + "/about",
            bot=True,
            locked=True,
            discoverable=False,
            private_key=private_pem,
            public_key=public_pem,
        )
        db.session.add(account)
        if not commit_unless_duplicate():  # another process made it first
            account = db.session.scalar(query)
    return account
