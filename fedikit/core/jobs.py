"""Background jobs: enqueue by name, run by whichever queue backend is chosen."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask

from fedikit.core.db import db
from fedikit.plugin_api import Job

log = logging.getLogger("fedikit.jobs")


def enqueue(name: str, *, queue: str = "default", max_attempts: int = 16, delay: float = 0.0, **args: Any) -> str:
    """Queue job ``name`` with keyword ``args``; it runs after the current transaction's work is committed."""
    from fedikit.core.state import current

    state = current()
    if name not in state.jobs.handlers:
        raise KeyError(f"no job named {name!r} is registered")
    job = Job(name=name, args=args, id=secrets.token_hex(8), queue=queue, max_attempts=max_attempts)
    return state.queue.enqueue(job, delay=delay)


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
