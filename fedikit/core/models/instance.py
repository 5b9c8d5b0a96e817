"""The instance's own rules and its view of other instances."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedikit.core.db import Base, SnowflakeMixin, TimestampMixin, utcnow


class InstanceRule(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "instance_rules"

    text: Mapped[str] = mapped_column(Text)
    hint: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(default=0)
    deleted_at: Mapped[dt.datetime | None]


class DomainBlock(SnowflakeMixin, TimestampMixin, Base):
    """An admin's decision about a whole remote domain."""

    __tablename__ = "domain_blocks"

    domain: Mapped[str] = mapped_column(String(255), unique=True)
    severity: Mapped[str] = mapped_column(String(16), default="silence")  # noop, silence, suspend
    reject_media: Mapped[bool] = mapped_column(default=False)
    reject_reports: Mapped[bool] = mapped_column(default=False)
    private_comment: Mapped[str] = mapped_column(Text, default="")
    public_comment: Mapped[str] = mapped_column(Text, default="")
    obfuscate: Mapped[bool] = mapped_column(default=False)


class RemoteInstance(SnowflakeMixin, TimestampMixin, Base):
    """A remote server we talk to, with its delivery health."""

    __tablename__ = "remote_instances"

    domain: Mapped[str] = mapped_column(String(255), unique=True)
    software: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[str | None] = mapped_column(String(64))
    nodeinfo: Mapped[dict | None] = mapped_column(JSON)
    failure_days: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates of failed deliveries
    unavailable_since: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]


class Report(SnowflakeMixin, TimestampMixin, Base):
    __tablename__ = "reports"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    target_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    status_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    rule_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="other")  # spam, legal, violation, other
    forwarded: Mapped[bool] = mapped_column(default=False)
    action_taken_at: Mapped[dt.datetime | None]
    assigned_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    action_taken_by_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    uri: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxJob(SnowflakeMixin, Base):
    """A job a durable queue could not take when it was queued (its server was down): kept here and
    handed over again until it is taken (fedikit.core.jobs)."""

    __tablename__ = "job_outbox"

    name: Mapped[str] = mapped_column(String(255))
    queue: Mapped[str] = mapped_column(String(64))
    args: Mapped[dict] = mapped_column(JSON)
    job_id: Mapped[str] = mapped_column(String(64))
    max_attempts: Mapped[int]
    run_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
