"""What a person keeps for themselves: lists, filters, markers, notifications."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fedikit.core.db import Base, SnowflakeMixin, TimestampMixin, utcnow


class List(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "lists"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")  # followed, list, none
    exclusive: Mapped[bool] = mapped_column(default=False)


class ListAccount(SnowflakeMixin, Base):
    __tablename__ = "list_accounts"
    __table_args__ = (UniqueConstraint("list_id", "account_id"),)

    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    follow_id: Mapped[int | None] = mapped_column(ForeignKey("follows.id", ondelete="CASCADE"))


class CustomFilter(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "custom_filters"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    context: Mapped[list[str]] = mapped_column(JSON, default=list)  # home, notifications, public, thread, account
    action: Mapped[str] = mapped_column(String(16), default="warn")  # warn, hide, blur
    expires_at: Mapped[dt.datetime | None]

    keywords: Mapped[list[FilterKeyword]] = relationship(cascade="all, delete-orphan")
    statuses: Mapped[list[FilterStatus]] = relationship(cascade="all, delete-orphan")


class FilterKeyword(SnowflakeMixin, Base):
    __tablename__ = "filter_keywords"

    filter_id: Mapped[int] = mapped_column(ForeignKey("custom_filters.id", ondelete="CASCADE"), index=True)
    keyword: Mapped[str] = mapped_column(String(255))
    whole_word: Mapped[bool] = mapped_column(default=True)


class FilterStatus(SnowflakeMixin, Base):
    __tablename__ = "filter_statuses"

    filter_id: Mapped[int] = mapped_column(ForeignKey("custom_filters.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))


class Marker(SnowflakeMixin, Base):
    __tablename__ = "markers"
    __table_args__ = (UniqueConstraint("user_id", "timeline"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(32))  # home, notifications
    last_read_id: Mapped[int] = mapped_column(BigInteger, default=0)
    lock_version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(SnowflakeMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_account_id_id", "account_id", "id"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))  # recipient
    from_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))  # mention, follow, follow_request, favourite, reblog, ...
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScheduledStatus(SnowflakeMixin, Base):
    __tablename__ = "scheduled_statuses"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    scheduled_at: Mapped[dt.datetime] = mapped_column(index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
