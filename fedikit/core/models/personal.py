"""What a person keeps for themselves: lists, filters, markers, notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from fedikit.core.db import Base, SnowflakeMixin, TimestampMixin, utcnow
from fedikit.core.models.accounts import User


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


_FILTER_OWNERS = "fedikit.filter_owners"


def changed_filter_owners(session: Session) -> set[int]:
    """In an ``after_flush`` hook: the accounts whose filters this flush changes (a filter, or a keyword or
    status of one)."""
    owners: set[int] = set()
    filter_ids: set[int] = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, CustomFilter):
            owners.add(row.account_id)
        elif isinstance(row, FilterKeyword | FilterStatus):
            filter_ids.add(row.filter_id)
    if filter_ids:
        found = select(CustomFilter.account_id).where(CustomFilter.id.in_(filter_ids))
        owners.update(session.connection().scalars(found))
    return owners


@event.listens_for(Session, "after_flush")
def _note_filter_owners(session: Session, context: Any) -> None:
    owners = changed_filter_owners(session)
    if owners:
        session.info.setdefault(_FILTER_OWNERS, set()).update(owners)


@event.listens_for(Session, "after_flush_postexec")
def _move_filters_versions(session: Session, context: Any) -> None:
    """Any change to a user's filters moves their ``users.filters_version``, in the same transaction: the
    filters kept compiled under the old version are not used again, in any process."""
    owners = session.info.pop(_FILTER_OWNERS, None)
    if not owners:
        return
    users = User.__table__
    session.connection().execute(
        update(users).where(users.c.account_id.in_(owners)).values(filters_version=users.c.filters_version + 1)
    )
    for row in list(session.identity_map.values()):
        if isinstance(row, User) and row.account_id in owners:
            session.expire(row, ["filters_version"])
