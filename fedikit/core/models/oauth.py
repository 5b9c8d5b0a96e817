"""OAuth 2 applications, authorisation codes and access tokens.

Codes and tokens are stored as SHA-256 digests: a leaked database does not
leak working credentials.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fedikit.core.db import Base, SnowflakeMixin, utcnow
from fedikit.core.models.accounts import User


class Application(SnowflakeMixin, Base):
    __tablename__ = "oauth_applications"

    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048))
    redirect_uris: Mapped[str] = mapped_column(Text, default="urn:ietf:wg:oauth:2.0:oob")  # newline separated
    scopes: Mapped[str] = mapped_column(String(1024), default="read")
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret: Mapped[str] = mapped_column(String(64))
    owner_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuthorizationCode(SnowflakeMixin, Base):
    __tablename__ = "oauth_authorization_codes"

    application_id: Mapped[int] = mapped_column(ForeignKey("oauth_applications.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AccessToken(SnowflakeMixin, Base):
    __tablename__ = "oauth_access_tokens"

    application_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_applications.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    application: Mapped[Application | None] = relationship()
    user: Mapped[User | None] = relationship()
