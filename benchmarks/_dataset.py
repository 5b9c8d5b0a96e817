"""Shared by the benchmarks: the timeline workload, written straight into an instance's database.

100,000 statuses from 1,000 accounts (900 local, 100 on ten remote hosts) over
the last 30 days, and a local ``viewer`` following 300 of them. The statuses
mix what a real instance holds: 70% public, 15% unlisted, 10% followers-only,
5% direct (each mentioning someone); about 10% are replies and 5% boosts. Every
other account follows 50 others, so the follow table is not trivially small.

Rows are inserted in bulk (going through the post service would take most of
an hour); the viewer and their token are made through the public paths.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select, text, update

from fedikit.core.db import db
from fedikit.core.ids import id_at, next_id
from fedikit.core.models import Account, Follow, Mention, Status
from fedikit.core.services.accounts import create_local_account, local_uris

CHUNK = 5_000
VIEWER_PASSWORD = "benchmark-password"


@dataclasses.dataclass(frozen=True)
class Workload:
    statuses: int = 100_000
    accounts: int = 1_000
    following: int = 300
    remote_accounts: int = 100
    graph_degree: int = 50
    seed: int = 1

    def describe(self) -> str:
        return (
            f"{self.statuses:,} statuses from {self.accounts:,} accounts "
            f"({self.remote_accounts} remote), viewer following {self.following}"
        )


def seed(app: Flask, workload: Workload = Workload()) -> str:
    """Fill the (migrated, empty) database; returns the viewer's e-mail address."""
    rng = random.Random(workload.seed)
    with app.app_context():
        viewer = create_local_account("viewer", "viewer@bench.example", VIEWER_PASSWORD, confirmed=True).account
        account_ids = _accounts(workload)
        _follows(viewer.id, account_ids, workload, rng)
        _statuses(account_ids, workload, rng)
        _counters()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # A live instance's autovacuum keeps planner statistics and visibility maps; rows loaded
            # in bulk have neither until it runs (without statistics the home query takes seconds),
            # and autovacuum would run during the measurement.
            with db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return "viewer@bench.example"


def _accounts(workload: Workload) -> list[int]:
    rows: list[dict[str, Any]] = []
    base = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    for n in range(workload.accounts):
        created = base + dt.timedelta(seconds=n)
        if n < workload.accounts - workload.remote_accounts:
            username, domain = f"user{n}", None
            uris = local_uris(username)
        else:
            username, domain = f"remote{n}", f"host{n % 10}.example"
            uris = {"uri": f"https://{domain}/users/{username}", "url": f"https://{domain}/@{username}"}
        rows.append(
            {
                "id": id_at(created),
                "username": username,
                "domain": domain,
                "display_name": f"User {n}",
                "note": f"<p>Account number {n}</p>",
                "created_at": created,
                "updated_at": created,
                **uris,
            }
        )
    db.session.execute(insert(Account.__table__), rows)
    return [row["id"] for row in rows]


def _follows(viewer_id: int, account_ids: list[int], workload: Workload, rng: random.Random) -> None:
    pairs = {(viewer_id, target) for target in rng.sample(account_ids, workload.following)}
    for account_id in account_ids:
        for target in rng.sample(account_ids, workload.graph_degree):
            if target != account_id:
                pairs.add((account_id, target))
    now = dt.datetime.now(dt.UTC)
    rows = [{"id": next_id(), "account_id": a, "target_account_id": t, "created_at": now} for a, t in pairs]
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(Follow.__table__), rows[start : start + CHUNK])


def _statuses(account_ids: list[int], workload: Workload, rng: random.Random) -> None:
    now = dt.datetime.now(dt.UTC)
    moments = sorted(now - dt.timedelta(seconds=rng.uniform(60, 30 * 86_400)) for _ in range(workload.statuses))
    ids: set[int] = set()
    earlier_public: list[tuple[int, int]] = []  # (status id, author) a reply or boost can point at
    statuses: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    boosted: set[tuple[int, int]] = set()
    local_count = workload.accounts - workload.remote_accounts
    for n, moment in enumerate(moments):
        status_id = id_at(moment)
        while status_id in ids:
            status_id += 1
        ids.add(status_id)
        author_index = rng.randrange(workload.accounts)
        author = account_ids[author_index]
        local = author_index < local_count
        roll = rng.random()
        visibility = "public" if roll < 0.70 else "unlisted" if roll < 0.85 else "private" if roll < 0.95 else "direct"
        row: dict[str, Any] = {
            "id": status_id,
            "account_id": author,
            "local": local,
            "uri": f"https://bench.example/statuses/{status_id}",
            "url": f"https://bench.example/@x/{status_id}",
            "visibility": visibility,
            "language": "en",
            "created_at": moment,
            "updated_at": moment,
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "reblog_of_id": None,
        }
        kind = rng.random()
        if earlier_public and kind < 0.05 and visibility == "public":
            target, target_author = rng.choice(earlier_public)
            if (author, target) not in boosted and target_author != author:
                boosted.add((author, target))
                row.update(reblog_of_id=target, text="", content="")
                statuses.append(row)
                continue
        if earlier_public and kind < 0.15:
            target, target_author = rng.choice(earlier_public)
            row.update(in_reply_to_id=target, in_reply_to_account_id=target_author)
        text = f"Status {n} from account {author_index}: " + " ".join(
            rng.choice(WORDS) for _ in range(rng.randrange(8, 40))
        )
        row.update(text=text, content=f"<p>{text}</p>")
        statuses.append(row)
        if visibility == "direct":
            mentions.append({"id": next_id(), "status_id": status_id, "account_id": rng.choice(account_ids)})
        if visibility == "public":
            earlier_public.append((status_id, author))
    for start in range(0, len(statuses), CHUNK):
        db.session.execute(insert(Status.__table__), statuses[start : start + CHUNK])
    for start in range(0, len(mentions), CHUNK):
        db.session.execute(insert(Mention.__table__), mentions[start : start + CHUNK])


def _counters() -> None:
    statuses_count = select(func.count()).where(Status.account_id == Account.id).correlate(Account).scalar_subquery()
    last_status = select(func.max(Status.created_at)).where(Status.account_id == Account.id).scalar_subquery()
    followers = select(func.count()).where(Follow.target_account_id == Account.id).scalar_subquery()
    following = select(func.count()).where(Follow.account_id == Account.id).scalar_subquery()
    db.session.execute(
        update(Account).values(
            statuses_count=statuses_count,
            last_status_at=last_status,
            followers_count=followers,
            following_count=following,
        )
    )
    reply = Status.__table__.alias("reply")
    replies = select(func.count()).select_from(reply).where(reply.c.in_reply_to_id == Status.id).scalar_subquery()
    db.session.execute(update(Status).values(replies_count=replies))


WORDS = [
    *[
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "federation",
        "timeline",
        "morning",
        "coffee",
        "release",
        "notes",
        "python",
        "flask",
    ],
    *["server", "instance", "garden", "bicycle", "rain", "weekend", "music", "photo", "cat", "thread", "question"],
]
