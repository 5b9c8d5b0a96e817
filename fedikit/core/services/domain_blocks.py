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

import time
from dataclasses import dataclass

from sqlalchemy import select

from fedikit.core.db import db
from fedikit.core.errors import ValidationError
from fedikit.core.models import DomainBlock
from fedikit.core.state import current

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


_POLICIES = select(DomainBlock.domain, DomainBlock.severity, DomainBlock.reject_media, DomainBlock.reject_reports)
MAX_AGE = 1.0  # seconds a process uses its copy of the blocks before reading them again
_COPY = "domain_blocks"  # the copy's key in the app's memo: (read at, {domain: Policy})


def policy(domain: str | None) -> Policy:
    """The policy for ``domain`` (its own block, else its nearest parent's); local accounts (``None``)
    are never blocked.

    Every activity received asks, most of them more than once, so each
    process keeps a copy of all the blocks (a few thousand rows on the
    largest instances) and reads them again after ``MAX_AGE``: a change made
    by another process (a web node, a worker, ``fedikit domains block``)
    applies here within a second; one made by this process, at once.
    """
    if not domain:
        return NO_BLOCK
    policies = _policies()
    return next((policies[c] for c in _candidates(domain) if c in policies), NO_BLOCK)


def _policies() -> dict[str, Policy]:
    memo = current().memo
    now = time.monotonic()
    copy = memo.get(_COPY)
    if copy is None or now - copy[0] >= MAX_AGE:
        rows = db.session.execute(_POLICIES)
        copy = memo[_COPY] = (now, {row[0]: Policy(*row[1:]) for row in rows})
    return copy[1]


def _forget() -> None:
    current().memo.pop(_COPY, None)


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
