"""A person's view of a direct conversation: one row per account, conversation and set of other participants."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedikit.core.db import Base, SnowflakeMixin


class AccountConversation(SnowflakeMixin, Base):
    """Mastodon's ``account_conversations``: the direct statuses ``account`` wrote or received in a thread.

    ``participants_key`` is a digest of ``participant_account_ids``, so the set
    can be unique per account and conversation whatever its length.
    ``last_status_id`` is the newest of ``status_ids``; the list is paged by it.
    """

    __tablename__ = "account_conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "conversation_id", "participants_key"),
        Index("ix_account_conversations_account_id_last_status_id", "account_id", "last_status_id"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    participants_key: Mapped[str] = mapped_column(String(64))
    participant_account_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    status_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    last_status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"))
    unread: Mapped[bool] = mapped_column(default=False)
