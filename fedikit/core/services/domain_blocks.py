"""The admin's decisions about whole remote domains (Mastodon's domain blocks).

A block on ``example.com`` covers its subdomains too (``social.example.com``)
and every port, as Mastodon's does; the most specific block wins. Severities:

- ``suspend``: nothing from the domain is accepted or fetched, nothing is
  delivered to it, and its accounts are treated as suspended;
- ``silence``: its accounts are accepted but limited (kept out of public
  timelines; only their followers see them);
- ``noop``: no limit beyond the flags.

Flags, whatever the severity: ``reject_media`` (remote media is not kept) and
``reject_reports`` (reports from the domain are dropped). Protocol plugins
ask :func:`policy` before accepting anything from a domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, has_app_context
from sqlalchemy import select

from fedikit.core.db import db
from fedikit.core.errors import ValidationError
from fedikit.core.models import DomainBlock

SEVERITIES = ("noop", "silence", "suspend")


@dataclass(frozen=True)
class Policy:
    """What the admin decided for one domain (the default: nothing)."""

    severity: str = "noop"
    reject_media: bool = False
    reject_reports: bool = False

    @property
    def suspended(self) -> bool:
        return self.severity == "suspend"

    @property
    def silenced(self) -> bool:
        return self.severity == "silence"


NO_BLOCK = Policy()


def _normal(domain: str) -> str:
    return domain.strip().lower()


def _candidates(domain: str) -> list[str]:
    """Blocks that could apply, most specific first.

    ``a.example.com:8443`` -> itself, ``a.example.com``, ``example.com``, ``com``:
    a block names a host (covering every port, as Mastodon's do, and its
    subdomains) or one ``host:port`` (several servers on one host, as in tests).
    """
    domain = _normal(domain)
    host, _, port = domain.rpartition(":") if domain.count(":") == 1 else (domain, "", "")
    labels = host.split(".")
    return ([domain] if port else []) + [".".join(labels[i:]) for i in range(len(labels))]


def find(domain: str) -> DomainBlock | None:
    """The block that applies to ``domain`` (its own, else its nearest parent's), or None."""
    candidates = _candidates(domain)
    blocks = {b.domain: b for b in db.session.scalars(select(DomainBlock).where(DomainBlock.domain.in_(candidates)))}
    return next((blocks[c] for c in candidates if c in blocks), None)


def policy(domain: str | None) -> Policy:
    """The policy for ``domain``; local accounts (``None``) are never blocked.

    Remembered for the rest of the request or job (an activity asks about its
    domain several times); a change made meanwhile by this app context is seen.
    """
    if not domain:
        return NO_BLOCK
    known: dict[str, Policy] = g.setdefault(_MEMO, {}) if has_app_context() else {}
    key = _normal(domain)
    if key not in known:
        block = find(domain)
        known[key] = NO_BLOCK if block is None else Policy(block.severity, block.reject_media, block.reject_reports)
    return known[key]


_MEMO = "fedikit_domain_policies"


def _forget() -> None:
    if has_app_context():
        g.pop(_MEMO, None)


def block(
    domain: str,
    *,
    severity: str = "silence",
    reject_media: bool = False,
    reject_reports: bool = False,
    public_comment: str = "",
    private_comment: str = "",
) -> DomainBlock:
    """Create or change the block on ``domain``."""
    host = _normal(domain)
    if not host or " " in host or "/" in host:
        raise ValidationError(f"{domain!r} is not a domain")
    if severity not in SEVERITIES:
        raise ValidationError(f"severity must be one of {', '.join(SEVERITIES)}")
    existing = db.session.scalar(select(DomainBlock).where(DomainBlock.domain == host))
    found = existing or DomainBlock(domain=host)
    found.severity = severity
    found.reject_media = reject_media
    found.reject_reports = reject_reports
    found.public_comment = public_comment
    found.private_comment = private_comment
    db.session.add(found)
    db.session.commit()
    _forget()
    return found


def unblock(domain: str) -> bool:
    found = db.session.scalar(select(DomainBlock).where(DomainBlock.domain == _normal(domain)))
    if found is None:
        return False
    db.session.delete(found)
    db.session.commit()
    _forget()
    return True


def all_blocks() -> list[DomainBlock]:
    return list(db.session.scalars(select(DomainBlock).order_by(DomainBlock.domain)))
