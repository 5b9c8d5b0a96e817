"""Background jobs: enqueue by name, run by whichever queue backend is chosen.

A job enqueued while the session holds uncommitted writes waits for the
commit (and is dropped on rollback), so a job never runs before the rows it
needs are visible to other connections. A job queued while a request is being
answered is handed to the queue when the request ends: with an in-process
queue the background work then never competes with the response it follows.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from fedikit.core.db import db, has_writes
from fedikit.plugin_api import Job

log = logging.getLogger("fedikit.jobs")

_PENDING = "fedikit.jobs.pending"
_HELD = "fedikit.jobs.held"  # in the WSGI environ: jobs waiting for the request to end


def enqueue(name: str, *, queue: str = "default", max_attempts: int = 16, delay: float = 0.0, **args: Any) -> str:
    """Queue job ``name`` with keyword ``args`` (JSON values only); returns the job's id."""
    from fedikit.core.state import current

    state = current()
    if name not in state.jobs.handlers:
        raise KeyError(f"no job named {name!r} is registered")
    try:
        args = json.loads(json.dumps(args))  # exactly what an out-of-process queue would carry
    except (TypeError, ValueError) as exc:
        raise TypeError(f"job {name!r}: arguments must be JSON values ({exc})") from None
    job = Job(name=name, args=args, id=secrets.token_hex(8), queue=queue, max_attempts=max_attempts)
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
        queue.enqueue(job, delay=delay)


def install(app: Flask) -> None:
    """Hand a request's jobs to the queue once the request is over (whatever its outcome)."""

    @app.teardown_request
    def _release(exc: BaseException | None) -> None:
        for queue, job, delay in request.environ.pop(_HELD, []):
            try:
                queue.enqueue(job, delay=delay)
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
    """Run one job in an app context; raises so the queue can retry it."""
    with app.app_context():
        handler = app.extensions["fedikit"].jobs.handlers[job.name]
        try:
            handler(**job.args)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
