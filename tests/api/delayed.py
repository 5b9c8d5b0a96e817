"""Helpers for tests of delayed jobs (a poll's end, a scheduled post): move the clock, run what is due.

The jobs themselves are captured by the ``delayed_jobs`` fixture (conftest.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask

from fedikit.core.db import db, utcnow
from fedikit.plugin_api import Job

CLOCK_READERS = ("fedikit.core.services.polls", "fedikit.core.api.serializers.polls", "fedikit.core.services.scheduled")


def travel(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the clock that polls and scheduled statuses read by ``seconds``."""
    moved = utcnow() + dt.timedelta(seconds=seconds)
    for module in CLOCK_READERS:
        monkeypatch.setattr(f"{module}.utcnow", lambda: moved)


def run_delayed(app: Flask, captured: list[Job], name: str) -> int:
    """Run the captured jobs called ``name`` as the queue would; how many ran."""
    handlers = app.extensions["fedikit"].jobs.handlers
    due = [job for job in captured if job.name == name]
    for job in due:
        captured.remove(job)
        handlers[job.name](**job.args)
        db.session.commit()
    return len(due)
