"""Background jobs: enqueue by name, run by whichever queue backend is chosen.

A job enqueued while the session holds uncommitted writes waits for the
commit (and is dropped on rollback), so a job never runs before the rows it
needs are visible to other connections. A job queued while a request is being
answered is handed to the queue when the request ends: with an in-process
queue the background work then never competes with the response it follows.

A durable queue that cannot take a job (its Redis is down) does not lose it:
the job is written to the outbox table (``job_outbox``) and handed over again,
by whichever process has one, once the queue takes jobs again (checked every
``RELAY_EVERY`` seconds while the outbox holds any, and by each process when it
first queues a job). Jobs may then run twice, as after any retry: every job is
written to be idempotent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import threading
import time
from typing import Any

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from fedikit.core.db import db, has_writes, utcnow
from fedikit.core.ids import next_id
from fedikit.core.models import OutboxJob
from fedikit.plugin_api import Job, batch_size

log = logging.getLogger("fedikit.jobs")

_PENDING = "fedikit.jobs.pending"
_HELD = "fedikit.jobs.held"  # in the WSGI environ: jobs waiting for the request to end


def enqueue(
    name: str, *, queue: str = "default", max_attempts: int = 16, delay: float = 0.0, alone: bool = False, **args: Any
) -> str:
    """Queue job ``name`` with keyword ``args`` (JSON values only); returns the job's id.

    ``alone``: a batch job that never runs with others (the retry of one that failed in a batch).
    """
    from fedikit.core.state import current

    state = current()
    handler = state.jobs.handlers.get(name)
    if handler is None:
        raise KeyError(f"no job named {name!r} is registered")
    try:
        args = json.loads(json.dumps(args))  # exactly what an out-of-process queue would carry
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job {name!r}: arguments must be JSON values ({exc})") from None
    job = Job(name=name, args=args, id=secrets.token_hex(8), queue=queue, max_attempts=max_attempts)
    job.batch = 1 if alone else max(1, batch_size(handler))
    session = db.session()
    if has_writes(session):
        session.info.setdefault(_PENDING, []).append((state.queue, job, delay))
        return job.id
    _hand_over(state.queue, job, delay)
    return job.id


def _hand_over(queue: Any, job: Job, delay: float) -> None:
    if has_request_context():
        request.environ.setdefault(_HELD, []).append((queue, job, delay))
    else:
        give(queue, job, delay)


def give(queue: Any, job: Job, delay: float = 0.0) -> None:
    """Put ``job`` on ``queue``; what a durable queue cannot take now goes to the outbox."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        queue.enqueue(job, delay=delay)
    except Exception:
        if not queue.durable:
            raise
        log.warning("the job queue did not take job %s (%s): kept in the outbox", job.name, job.id, exc_info=True)
        _keep(job, delay)
        _relayer(app).wake(kept=True)
        return
    if queue.durable:
        _relayer(app).first_look()


def _keep(job: Job, delay: float) -> None:
    row = {
        "id": next_id(),
        "name": job.name,
        "queue": job.queue,
        "args": job.args,
        "job_id": job.id,
        "max_attempts": job.max_attempts,
        "run_at": utcnow() + dt.timedelta(seconds=delay),
        "created_at": utcnow(),
    }
    with db.engine.begin() as connection:  # apart from the caller's transaction: kept whatever it does next
        connection.execute(insert(OutboxJob), [row])


RELAY_EVERY = 5.0  # seconds between tries while the outbox holds jobs
RELAY_BATCH = 200
RELAY_GIVE_UP = 120  # failed tries in a row (10 minutes) before a process leaves it to the next one to queue a job


def relay(app: Flask) -> int:
    """Hand the outbox's jobs to the queue, oldest first, until it is empty or the queue refuses one.

    Returns how many were handed over. Rows are locked while handed over
    (``SKIP LOCKED`` on PostgreSQL), so processes relaying at once share them.
    """
    moved = 0
    with app.app_context():
        queue = app.extensions["fedikit"].queue
        while True:
            rows = list(
                db.session.scalars(
                    select(OutboxJob).order_by(OutboxJob.id).limit(RELAY_BATCH).with_for_update(skip_locked=True)
                )
            )
            taken = []
            refused = False
            handlers = app.extensions["fedikit"].jobs.handlers
            for row in rows:
                job = Job(name=row.name, args=row.args, id=row.job_id, queue=row.queue, max_attempts=row.max_attempts)
                handler = handlers.get(row.name)
                job.batch = max(1, batch_size(handler)) if handler else 1  # as first queued (joiners may wait)
                try:
                    queue.enqueue(job, delay=max(0.0, (row.run_at - utcnow()).total_seconds()))
                except Exception:
                    refused = True
                    break
                taken.append(row.id)
            if taken:
                db.session.execute(delete(OutboxJob).where(OutboxJob.id.in_(taken)))
            db.session.commit()
            moved += len(taken)
            if refused or len(rows) < RELAY_BATCH:
                return moved


class _Relayer:
    """One per process and app: a thread that relays the outbox while it holds jobs."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pid = os.getpid()
        self._wanted = threading.Event()
        self._looked = False
        self._kept = False  # this process kept jobs: keep trying while the database fails too
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self, *, kept: bool = False) -> None:
        self._kept = self._kept or kept
        self._wanted.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fedikit-outbox", daemon=True)
                self._thread.start()

    def first_look(self) -> None:
        """Once per process: jobs left in the outbox (by a process that ended) are relayed by this one."""
        if not self._looked:
            self._looked = True
            self.wake()

    def _run(self) -> None:
        failures = 0
        while self._wanted.is_set() and failures < RELAY_GIVE_UP:
            self._wanted.clear()
            try:
                relay(self.app)  # an empty outbox costs its one query
                if self._holds_jobs():
                    self._wanted.set()
                failures = 0
            except Exception:  # the database may be down too: try again later if this process kept jobs
                failures += 1
                log.warning("could not relay the job outbox", exc_info=True)
                if self._kept:
                    self._wanted.set()
            if self._wanted.is_set():
                time.sleep(RELAY_EVERY)

    def _holds_jobs(self) -> bool:
        with self.app.app_context():
            return db.session.scalar(select(OutboxJob.id).limit(1)) is not None


_RELAYERS_LOCK = threading.Lock()


def _relayer(app: Flask) -> _Relayer:
    with _RELAYERS_LOCK:
        found = app.extensions.get("fedikit.outbox")
        if found is None or found.pid != os.getpid():  # a forked process starts its own
            found = app.extensions["fedikit.outbox"] = _Relayer(app)
        return found


def install(app: Flask) -> None:
    """Hand a request's jobs to the queue once the request is over (whatever its outcome)."""

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        for queue, job, delay in request.environ.pop(_HELD, []):
            try:
                give(queue, job, delay)
            except Exception:  # the response is already made: log, and let the other jobs go
                log.exception("could not queue job %s (%s)", job.name, job.id)


@event.listens_for(Session, "after_commit")
def _send(session: Session) -> None:
    for queue, job, delay in session.info.pop(_PENDING, []):
        _hand_over(queue, job, delay)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    dropped = session.info.pop(_PENDING, [])
    if dropped:
        log.info("dropped %d job(s) queued in a transaction that was rolled back", len(dropped))


def run(app: Flask, job: Job) -> None:
    """Run one job (with those a queue ran together with it) in an app context; raises so the queue can retry it.

    A batch job that fails for more than one job's arguments has each queued
    again on its own, to run (and be retried) alone: the ones done already
    find their work done, as jobs are idempotent.
    """
    with app.app_context():
        handler = app.extensions["fedikit"].jobs.handlers[job.name]
        together = batch_size(handler) > 0
        items = (job.batched or [job.args]) if together else []
        try:
            if together:
                handler(items)
            else:
                handler(**job.args)
            db.session.commit()
        except Exception:
            db.session.rollback()
            if len(items) < 2:
                raise
            log.warning(
                "job %s (%s) failed for %d jobs together: each is queued again alone",
                job.name,
                job.id,
                len(items),
                exc_info=True,
            )
            queue = app.extensions["fedikit"].queue
            for args in items:
                alone = Job(
                    name=job.name,
                    args=args,
                    id=secrets.token_hex(8),
                    queue=job.queue,
                    attempt=job.attempt,
                    max_attempts=job.max_attempts,
                )
                give(queue, alone)
