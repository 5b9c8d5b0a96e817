"""/api/v1/instance (and rules, peers, activity), custom_emojis, preferences.

The instance entities are built from settings (``INSTANCE_TITLE``,
``INSTANCE_DESCRIPTION``, ``CONTACT_EMAIL``, ``REGISTRATIONS_MODE``,
``SOURCE_URL``, ``STREAMING_API_BASE_URL``, ``MAX_STATUS_CHARS``) and a few
counts; ``v2/instance.py`` shares the pieces defined here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import jsonify
from sqlalchemy import and_, func, select

import fedikit
from fedikit.core.api.auth import current_user, scoped
from fedikit.core.api.serializers.accounts import MISSING_AVATAR
from fedikit.core.api.serializers.accounts import account as account_entity
from fedikit.core.db import db, utcnow
from fedikit.core.ids import min_id_at
from fedikit.core.models import Account, DomainBlock, InstanceRule, Role, Status, User
from fedikit.core.services import instance as instance_service
from fedikit.core.services import media, polls
from fedikit.core.state import current

MASTODON_VERSION = "4.3.0"
# Mastodon 4.3 reports 2, which tells clients that /api/v2/notifications (grouped
# notifications) exists. It does not exist here yet, and clients that see 2
# switch to it, so this stays 1 until it does.
MASTODON_API_VERSION = 1

STATUS_LIMITS = {"max_media_attachments": 4, "characters_reserved_per_url": 23}
# Advertised limits are the enforced ones: they come from the media service.
MEDIA_LIMITS = {
    "image_size_limit": media.IMAGE_LIMIT,
    "image_matrix_limit": media.MAX_PIXELS,
    "video_size_limit": media.VIDEO_LIMIT,
    "video_frame_rate_limit": 120,
    "video_matrix_limit": 8_294_400,
}
DESCRIPTION_LIMIT = media.MAX_DESCRIPTION
POLL_LIMITS = polls.LIMITS
MAX_FEATURED_TAGS = 10
MAX_PINNED_STATUSES = 5
ACTIVITY_WEEKS = 12


# ---------------------------------------------------------------- shared with v2


def config() -> dict[str, Any]:
    return current().config


def version() -> str:
    """Mastodon-like, so clients that parse the version pick the right features."""
    return f"{MASTODON_VERSION} (compatible; fedikit {fedikit.__version__})"


def title() -> str:
    return instance_service.title()


def description() -> str:
    return instance_service.description()


def contact_email() -> str:
    return str(config().get("CONTACT_EMAIL") or "")


def source_url() -> str:
    return str(config().get("SOURCE_URL") or f"{config()['BASE_URL']}/about")


def thumbnail_url() -> str:
    return f"{config()['BASE_URL']}{MISSING_AVATAR}"


def streaming_url() -> str:
    """``STREAMING_API_BASE_URL``, else the site's own address as ``ws://`` or ``wss://``."""
    override = config().get("STREAMING_API_BASE_URL")
    if override:
        return str(override).rstrip("/")
    scheme, rest = config()["BASE_URL"].split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}"


def registrations() -> tuple[bool, bool]:
    """(enabled, approval required) from ``REGISTRATIONS_MODE``: open, approved or none (the default)."""
    mode = instance_service.registrations_mode()
    return mode != "none", mode == "approved"


def status_limits() -> dict[str, int]:
    return {"max_characters": int(config()["MAX_STATUS_CHARS"]), **STATUS_LIMITS}


def media_limits() -> dict[str, Any]:
    return {"supported_mime_types": list(media.SUPPORTED_CONTENT_TYPES), **MEDIA_LIMITS}


def contact_account() -> dict[str, Any] | None:
    """The owner's account (the first user made owner), or None."""
    owner = db.session.scalar(select(User).where(User.role == Role.OWNER.value).order_by(User.id).limit(1))
    if owner is None or owner.account.suspended_at is not None:
        return None
    return account_entity(owner.account)


def rule_entities() -> list[dict[str, str]]:
    rows = db.session.scalars(
        select(InstanceRule).where(InstanceRule.deleted_at.is_(None)).order_by(InstanceRule.priority, InstanceRule.id)
    )
    return [rule_entity(r) for r in rows]


def rule_entity(rule: InstanceRule) -> dict[str, str]:
    """Mastodon's Rule."""
    return {"id": str(rule.id), "text": rule.text, "hint": rule.hint or ""}


def active_month() -> int:
    return instance_service.active_users(instance_service.ACTIVE_MONTH)


# ---------------------------------------------------------------- views


@scoped(public=True)
def show():  # noqa: ANN201
    enabled, approval = registrations()
    stats = {
        "user_count": instance_service.user_count(),
        "status_count": instance_service.local_status_count(),
        "domain_count": instance_service.domain_count(),
    }
    return jsonify(
        {
            "uri": config()["LOCAL_DOMAIN"],
            "title": title(),
            "short_description": description(),
            "description": description(),
            "email": contact_email(),
            "version": version(),
            "urls": {"streaming_api": streaming_url()},
            "stats": stats,
            "thumbnail": thumbnail_url(),
            "languages": ["en"],
            "registrations": enabled,
            "approval_required": approval,
            "invites_enabled": False,
            "configuration": {
                "accounts": {"max_featured_tags": MAX_FEATURED_TAGS},
                "statuses": status_limits(),
                "media_attachments": media_limits(),
                "polls": dict(POLL_LIMITS),
            },
            "contact_account": contact_account(),
            "rules": rule_entities(),
        }
    )


@scoped(public=True)
def rules():  # noqa: ANN201
    return jsonify(rule_entities())


@scoped(public=True)
def peers():  # noqa: ANN201
    suspended = select(DomainBlock.domain).where(DomainBlock.severity == "suspend")
    domains = db.session.scalars(
        select(Account.domain)
        .where(Account.domain.is_not(None), Account.domain.not_in(suspended))
        .distinct()
        .order_by(Account.domain)
    )
    return jsonify(list(domains))


def _week_starts(today: dt.date) -> list[dt.datetime]:
    """Midnight UTC of the Monday of this week and of the eleven before it, newest first."""
    monday = today - dt.timedelta(days=today.weekday())
    return [
        dt.datetime.combine(monday - dt.timedelta(weeks=i), dt.time(), tzinfo=dt.UTC) for i in range(ACTIVITY_WEEKS)
    ]


def _in(column: Any, low: Any, high: Any) -> Any:
    return column >= low if high is None else and_(column >= low, column < high)


@scoped(public=True)
def activity():  # noqa: ANN201
    """Per week: local statuses posted, users who last signed in then, users who registered."""
    starts = _week_starts(utcnow().date())
    weeks = [(start, starts[i - 1] if i else None) for i, start in enumerate(starts)]  # [start, end)
    # Local statuses' ids are their creation times (snowflakes), so the primary key bounds each week.
    statuses = db.session.execute(
        select(*(func.count().filter(_in(Status.id, min_id_at(s), e and min_id_at(e))) for s, e in weeks)).where(
            Status.local.is_(True), Status.id >= min_id_at(starts[-1])
        )
    ).one()
    users = db.session.execute(
        select(
            *(func.count().filter(_in(User.current_sign_in_at, s, e)) for s, e in weeks),
            *(func.count().filter(_in(User.created_at, s, e)) for s, e in weeks),
        )
    ).one()
    return jsonify(
        [
            {
                "week": str(int(start.timestamp())),
                "statuses": str(statuses[i] or 0),
                "logins": str(users[i] or 0),
                "registrations": str(users[ACTIVITY_WEEKS + i] or 0),
            }
            for i, start in enumerate(starts)
        ]
    )


@scoped(public=True)
def custom_emojis():  # noqa: ANN201
    return jsonify([])


@scoped("read:accounts")
def preferences():  # noqa: ANN201
    settings = current_user().settings or {}
    return jsonify(
        {
            "posting:default:visibility": settings.get("default_privacy") or "public",
            "posting:default:sensitive": bool(settings.get("default_sensitive", False)),
            "posting:default:language": settings.get("default_language") or None,
            "reading:expand:media": settings.get("display_media") or "default",
            "reading:expand:spoilers": bool(settings.get("expand_spoilers", False)),
            "reading:autoplay:gifs": bool(settings.get("auto_play_gif", False)),
        }
    )
