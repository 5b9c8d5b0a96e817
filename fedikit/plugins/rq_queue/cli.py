"""``fedikit worker``: the process that runs queued jobs. RQ is imported only when it runs."""

from __future__ import annotations

import click
from flask import current_app

DEFAULT_QUEUES = "default,push,ingress,mailers,pull"


@click.command("worker")
@click.option(
    "--queues",
    default=DEFAULT_QUEUES,
    show_default=True,
    help="Queues to serve, comma-separated, highest priority first.",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty instead of waiting for jobs.")
def worker(queues: str, burst: bool) -> None:
    """Run queued jobs (RQ). SIGTERM stops it after the current job."""
    names = [name.strip() for name in queues.split(",") if name.strip()]
    if not names:
        raise click.UsageError("--queues names no queue")
    queue = current_app.extensions["fedikit"].queue
    from fedikit.plugins.rq_queue.queue import RQQueue

    if not isinstance(queue, RQQueue):
        raise click.ClickException(
            f"the job queue is {type(queue).__name__}, which runs its jobs itself; `fedikit worker` runs jobs "
            "of the rq queue: set REDIS_URL (or QUEUE_BACKEND=rq)"
        )
    served = ", ".join(f"{name} ({queue.rq_name(name)})" for name in names)
    click.echo(f"fedikit worker: serving {served} on {_safe(queue)}{' until empty' if burst else ''}")
    queue.work(names, burst=burst)


def _safe(queue: object) -> str:
    """The Redis server, without the password an URL may carry."""
    kwargs = queue.redis.connection_pool.connection_kwargs  # type: ignore[attr-defined]
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"redis {where}/{kwargs.get('db', 0)}"
