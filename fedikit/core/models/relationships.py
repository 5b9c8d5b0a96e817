"""Relationships between accounts, and between accounts and statuses."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fedikit.core.db import Base, SnowflakeMixin, utcnow
from fedikit.core.models.accounts import Account
from fedikit.core.models.statuses import Status, Tag


class _AccountPair(SnowflakeMixin):
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Follow(_AccountPair, Base):
    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    show_reblogs: Mapped[bool] = mapped_column(default=True)
    notify: Mapped[bool] = mapped_column(default=False)
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    uri: Mapped[str | None] = mapped_column(String(2048))

    account: Mapped[Account] = relationship(foreign_keys="Follow.account_id")
    target_account: Mapped[Account] = relationship(foreign_keys="Follow.target_account_id")


# The follows whose boosts are hidden from the follower's home (few): the home page asks for them on every
# request; without this index PostgreSQL reads every follow row of the viewer to check the flag.
_HIDES_REBLOGS = Follow.show_reblogs.is_(False)
Index(
    "ix_follows_hidden_reblogs",
    Follow.account_id,
    Follow.target_account_id,
    postgresql_where=_HIDES_REBLOGS,
    sqlite_where=_HIDES_REBLOGS,
)


class FollowRequest(_AccountPair, Base):
    __tablename__ = "follow_requests"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    show_reblogs: Mapped[bool] = mapped_column(default=True)
    notify: Mapped[bool] = mapped_column(default=False)
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    uri: Mapped[str | None] = mapped_column(String(2048))

    account: Mapped[Account] = relationship(foreign_keys="FollowRequest.account_id")
    target_account: Mapped[Account] = relationship(foreign_keys="FollowRequest.target_account_id")


class Block(_AccountPair, Base):
    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    uri: Mapped[str | None] = mapped_column(String(2048))


class Mute(_AccountPair, Base):
    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    hide_notifications: Mapped[bool] = mapped_column(default=True)
    expires_at: Mapped[dt.datetime | None]


class AccountDomainBlock(SnowflakeMixin, Base):
    """A person hiding a whole remote domain from themselves."""

    __tablename__ = "account_domain_blocks"
    __table_args__ = (UniqueConstraint("account_id", "domain"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class _AccountStatus(SnowflakeMixin):
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Favourite(_AccountStatus, Base):
    __tablename__ = "favourites"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    uri: Mapped[str | None] = mapped_column(String(2048))
    status: Mapped[Status] = relationship()


class Bookmark(_AccountStatus, Base):
    __tablename__ = "bookmarks"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class StatusPin(_AccountStatus, Base):
    __tablename__ = "status_pins"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)


class ConversationMute(SnowflakeMixin, Base):
    __tablename__ = "conversation_mutes"
    __table_args__ = (UniqueConstraint("account_id", "conversation_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))


class TagFollow(SnowflakeMixin, Base):
    """An account following a hashtag: its public statuses come to their home feed."""

    __tablename__ = "tag_follows"
    __table_args__ = (UniqueConstraint("account_id", "tag_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeaturedTag(SnowflakeMixin, Base):
    """A hashtag shown on an account's profile (at most ``services.featured_tags.LIMIT``)."""

    __tablename__ = "featured_tags"
    __table_args__ = (UniqueConstraint("account_id", "tag_id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # as the person typed it
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    tag: Mapped[Tag] = relationship(lazy="joined", innerjoin=True)


class AccountNote(_AccountPair, Base):
    """What an account privately wrote about another (shown to them only, in the Relationship)."""

    __tablename__ = "account_notes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
