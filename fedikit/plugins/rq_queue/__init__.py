"""Jobs on RQ (Redis Queue): durable, run by ``fedikit worker`` processes that scale out.

Chosen when ``REDIS_URL`` is set (or ``QUEUE_BACKEND=rq``).

Queues. A job goes to the RQ queue ``<REDIS_NAMESPACE>:<job.queue>``, as a
call of ``fedikit.plugins.rq_queue.worker.perform`` with the job's name,
arguments and settings as JSON (RQ's JSON serializer: nothing in Redis is
unpickled). fedikit uses ``default``, ``push`` (outbound deliveries),
``ingress`` (inbound activities), ``mailers`` and ``pull`` (remote fetches).
A succeeded job leaves no key behind (``result_ttl=0``).

Priorities. ``fedikit worker`` draws the order in which it looks at its queues
anew for each job, by Mastodon's Sidekiq weights (``default`` 8, ``push`` 6,
``ingress`` 4, ``mailers`` 2, ``pull`` 1): the heavier queues are served first
most of the time, and a busy one cannot starve the others. ``--queues`` names
the queues to serve, each with a weight (``pull:1,ingress:2``), or without any
for strict priority in the order given (as Sidekiq reads its queue list). A
worker runs one job at a time in its own process, in the app, with one
database session per job (no fork per job: RQ's fork costs about three times
the job overhead); run several workers for parallelism.

Delays and retries. ``delay`` uses RQ's scheduled jobs, rounded up to whole
seconds. A job that raises is retried by RQ up to ``job.max_attempts`` tries,
waiting :func:`~fedikit.plugin_api.retry_delay` (with jitter) times
``JOB_RETRY_SCALE`` between tries, as the inline queue does; the waits are
drawn when the job is queued. After the last try the job is logged and kept
in the queue's failed registry for 7 days (``rq requeue`` brings it back).
Every worker runs the scheduler that moves due jobs to their queues, on a
thread; RQ's locks let one of them do it at a time.

When a worker dies. A running job holds a lease that its worker renews every
``RQ_ABANDONED_AFTER / 3`` seconds (default 30 s). Once a dead worker's lease
has run out, the next maintenance pass of any live worker (every
``RQ_ABANDONED_AFTER`` seconds) retries the job, counting the lost run as a
try: with the defaults it is queued again 20 to 60 s after the death, plus
the wait before its next try (about 16 s if it had not failed before;
``JOB_RETRY_SCALE=0`` makes that immediate). A job whose tries are spent goes
to the failed registry. A worker that serves several queues takes a job with
BLPOP, so a death in the instant between taking a job and marking it started
loses that job (RQ's limit; a single-queue worker keeps it in RQ's
intermediate queue). SIGTERM stops a worker after its current job (a second
SIGTERM stops it at once).

``RQ_WORKER_THREADS`` (default 0): that many workers, and a scheduler, on
daemon threads of the process that queues jobs, started on the first
enqueue; for tests and single-process setups. ``close()`` stops them after
their current job; jobs still queued stay in Redis.
"""

from __future__ import annotations

from typing import Any

import click

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, StartupError, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.QUEUE, "rq", _build, description="RQ on Redis, run by `fedikit worker` (REDIS_URL)")


@hookimpl
def register_commands(cli: click.Group) -> None:
    from fedikit.plugins.rq_queue.cli import worker

    cli.add_command(worker)


def _build(context: BackendContext) -> Any:
    config = context.config
    url = config.get("REDIS_URL")
    if not url:
        raise StartupError("QUEUE_BACKEND=rq needs REDIS_URL (or REDIS_HOST)")
    try:
        threads = int(config.get("RQ_WORKER_THREADS") or 0)
        abandoned_after = int(config.get("RQ_ABANDONED_AFTER") or 30)
        retry_scale = float(config.get("JOB_RETRY_SCALE", 1.0))
    except (TypeError, ValueError) as exc:
        raise StartupError(f"rq job queue: {exc}") from None
    from fedikit.plugins.rq_queue.queue import RQQueue

    return RQQueue(
        context.run_job,
        url=str(url),
        namespace=str(config.get("REDIS_NAMESPACE") or "fedikit"),
        threads=threads,
        retry_scale=retry_scale,
        abandoned_after=abandoned_after,
    )
