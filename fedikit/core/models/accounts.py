"""Accounts (local and remote) and the users who log in to local ones."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fedikit.core.db import Base, SnowflakeMixin, TimestampMixin


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MODERATOR = "moderator"
    USER = "user"


class Account(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "accounts"

    username: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255), index=True)  # None: local
    display_name: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")  # HTML
    note_source: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    locked: Mapped[bool] = mapped_column(default=False)
    bot: Mapped[bool] = mapped_column(default=False)
    group: Mapped[bool] = mapped_column(default=False)
    discoverable: Mapped[bool] = mapped_column(default=True)
    indexable: Mapped[bool] = mapped_column(default=False)
    memorial: Mapped[bool] = mapped_column(default=False)

    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    inbox_url: Mapped[str | None] = mapped_column(String(2048))
    shared_inbox_url: Mapped[str | None] = mapped_column(String(2048))
    outbox_url: Mapped[str | None] = mapped_column(String(2048))
    followers_url: Mapped[str | None] = mapped_column(String(2048))
    featured_url: Mapped[str | None] = mapped_column(String(2048))
    public_key: Mapped[str] = mapped_column(Text, default="", deferred=True)  # PEM: only federation reads it
    private_key: Mapped[str | None] = mapped_column(Text, deferred=True)  # local accounts only; signing reads it

    avatar_key: Mapped[str | None] = mapped_column(String(1024))
    avatar_static_key: Mapped[str | None] = mapped_column(String(1024))  # a still frame of an animated avatar
    avatar_remote_url: Mapped[str | None] = mapped_column(String(2048))
    header_key: Mapped[str | None] = mapped_column(String(1024))
    header_static_key: Mapped[str | None] = mapped_column(String(1024))
    header_remote_url: Mapped[str | None] = mapped_column(String(2048))

    moved_to_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    also_known_as: Mapped[list[str]] = mapped_column(JSON, default=list)

    statuses_count: Mapped[int] = mapped_column(default=0)
    followers_count: Mapped[int] = mapped_column(default=0)
    following_count: Mapped[int] = mapped_column(default=0)
    last_status_at: Mapped[dt.datetime | None]

    suspended_at: Mapped[dt.datetime | None]
    silenced_at: Mapped[dt.datetime | None]
    fetched_at: Mapped[dt.datetime | None]

    user: Mapped[User | None] = relationship(back_populates="account", uselist=False)

    @property
    def local(self) -> bool:
        return self.domain is None

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    def __repr__(self) -> str:
        return f"<Account {self.id} @{self.acct}>"


# One account per username and domain, whatever the case of the username.
Index("ix_accounts_username_domain", func.lower(Account.username), func.coalesce(Account.domain, ""), unique=True)
# The few suspended accounts: every status read leaves their posts out (visibility), and without this index
# PostgreSQL reads the whole accounts table (remote accounts included) to find them, on every timeline page.
_SUSPENDED = Account.suspended_at.is_not(None)
Index("ix_accounts_suspended", Account.id, postgresql_where=_SUSPENDED, sqlite_where=_SUSPENDED)


class User(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "users"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER.value)
    confirmed_at: Mapped[dt.datetime | None]
    approved: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)
    locale: Mapped[str | None] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    current_sign_in_at: Mapped[dt.datetime | None]
    last_sign_in_at: Mapped[dt.datetime | None]
    # Moves with every change to the user's filters (fedikit.core.models.personal): it keys the filters a
    # process keeps compiled. 0: the user never had one.
    filters_version: Mapped[int] = mapped_column(default=0, server_default="0")

    account: Mapped[Account] = relationship(back_populates="user")

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None
