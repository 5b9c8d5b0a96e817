"""Statuses and what hangs off them: edits, media, mentions, tags, polls."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from fedikit.core.db import Base, SnowflakeMixin, TimestampMixin, utcnow
from fedikit.core.models.accounts import Account

status_tags = Table(
    "status_tags",
    Base.metadata,
    Column("status_id", BigInteger, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", BigInteger, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Conversation(SnowflakeMixin, Base):
    __tablename__ = "conversations"

    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Status(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "statuses"
    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        UniqueConstraint("account_id", "reblog_of_id"),
        Index("ix_statuses_public_local", "visibility", "local", "id"),
    )

    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    local: Mapped[bool] = mapped_column(default=True)
    text: Mapped[str] = mapped_column(Text, default="")  # source as typed (local) or ""
    content: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    language: Mapped[str | None] = mapped_column(String(16))

    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"), index=True)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    reblog_of_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_applications.id", ondelete="SET NULL"))

    replies_count: Mapped[int] = mapped_column(default=0)
    reblogs_count: Mapped[int] = mapped_column(default=0)
    favourites_count: Mapped[int] = mapped_column(default=0)
    edited_at: Mapped[dt.datetime | None]

    account: Mapped[Account] = relationship(foreign_keys=[account_id], lazy="joined", innerjoin=True)
    reblog: Mapped[Status | None] = relationship(remote_side="Status.id", foreign_keys=[reblog_of_id])
    in_reply_to: Mapped[Status | None] = relationship(remote_side="Status.id", foreign_keys=[in_reply_to_id])
    mentions: Mapped[list[Mention]] = relationship(back_populates="status", cascade="all, delete-orphan")
    tags: Mapped[list[Tag]] = relationship(secondary=status_tags)
    media_attachments: Mapped[list[MediaAttachment]] = relationship(back_populates="status")
    edits: Mapped[list[StatusEdit]] = relationship(
        back_populates="status", cascade="all, delete-orphan", order_by="StatusEdit.id"
    )
    # Written through Poll.status_id; the post service sets it on a status it has just made, so the
    # response needs no query to know whether there is one.
    poll: Mapped[Poll | None] = relationship(viewonly=True, uselist=False)

    def __repr__(self) -> str:
        return f"<Status {self.id} by {self.account_id} {self.visibility}>"


class StatusEdit(SnowflakeMixin, Base):
    """One version of a status; the first is written on the first edit."""

    __tablename__ = "status_edits"

    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(default=False)
    media_attachment_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    poll_options: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    status: Mapped[Status] = relationship(back_populates="edits")


class MediaAttachment(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "media_attachments"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"), index=True)
    type: Mapped[str] = mapped_column(String(16), default="unknown")  # image, gifv, video, audio, unknown
    file_key: Mapped[str | None] = mapped_column(String(1024))
    thumbnail_key: Mapped[str | None] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(Text)
    blurhash: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    processing: Mapped[str] = mapped_column(String(16), default="complete")  # queued, in_progress, complete, failed

    status: Mapped[Status | None] = relationship(back_populates="media_attachments")


class Mention(SnowflakeMixin, Base):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("status_id", "account_id"),)

    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    silent: Mapped[bool] = mapped_column(default=False)

    status: Mapped[Status] = relationship(back_populates="mentions")
    account: Mapped[Account] = relationship()


class Tag(SnowflakeMixin, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(255), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(String(255))
    usable: Mapped[bool] = mapped_column(default=True)
    trendable: Mapped[bool] = mapped_column(default=True)
    listable: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Poll(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "polls"

    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    options: Mapped[list[str]] = mapped_column(JSON)
    tallies: Mapped[list[int]] = mapped_column(JSON)
    multiple: Mapped[bool] = mapped_column(default=False)
    hide_totals: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[dt.datetime | None]
    votes_count: Mapped[int] = mapped_column(default=0)
    voters_count: Mapped[int] = mapped_column(default=0)


class PollVote(SnowflakeMixin, Base):
    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "account_id", "choice"),)

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    choice: Mapped[int]
    uri: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CustomEmoji(SnowflakeMixin, TimestampMixin, Base):
    """A custom emoji (``:shortcode:``): a remote server's, known from the Emoji tags of its posts."""

    __tablename__ = "custom_emojis"
    __table_args__ = (UniqueConstraint("shortcode", "domain"),)

    shortcode: Mapped[str] = mapped_column(String(128))
    domain: Mapped[str | None] = mapped_column(String(255))  # None: this instance's own
    uri: Mapped[str | None] = mapped_column(String(2048))
    image_remote_url: Mapped[str | None] = mapped_column(String(2048))
    # The copy kept here (media storage keys); until it is made the emoji is not shown.
    image_key: Mapped[str | None] = mapped_column(String(1024))
    image_static_key: Mapped[str | None] = mapped_column(String(1024))
    visible_in_picker: Mapped[bool] = mapped_column(default=True)
    disabled: Mapped[bool] = mapped_column(default=False)


@event.listens_for(Session, "before_flush")
def _touch_statuses_of_changed_media(session: Session, context: Any, instances: Any) -> None:
    """A change to a status's media is a change to the status: its ``updated_at`` moves (the key its
    rendered entity is kept under, fedikit.core.renders), e.g. when a remote attachment is fetched."""
    touched = {
        m.status_id
        for m in (*session.new, *session.dirty, *session.deleted)
        if isinstance(m, MediaAttachment) and m.status_id is not None
    }
    if not touched:
        return
    now = utcnow()
    with session.no_autoflush:
        for status_id in touched:
            status = session.get(Status, status_id)
            if status is not None:
                status.updated_at = now
