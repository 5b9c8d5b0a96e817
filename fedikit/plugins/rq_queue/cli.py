"""``fedikit worker``: the process that runs queued jobs. RQ is imported only when it runs."""

from __future__ import annotations

import click
from flask import current_app

DEFAULT_QUEUES = "default:8,push:6,ingress:4,mailers:2,pull:1"


@click.command("worker")
@click.option(
    "--queues",
    default=DEFAULT_QUEUES,
    show_default=True,
    help="Queues to serve, comma-separated: NAME:WEIGHT each (weighted draws, as Mastodon's Sidekiq), "
    "or names alone (strict priority, the first given first).",
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty instead of waiting for jobs.")
def worker(queues: str, burst: bool) -> None:
    """Run queued jobs (RQ). SIGTERM stops it after the current job."""
    names, weights = _parse(queues)
    queue = current_app.extensions["fedikit"].queue
    from fedikit.plugins.rq_queue.queue import RQQueue

    if not isinstance(queue, RQQueue):
        raise click.ClickException(
            f"the job queue is {type(queue).__name__}, which runs its jobs itself; `fedikit worker` runs jobs "
            "of the rq queue: set REDIS_URL (or QUEUE_BACKEND=rq)"
        )
    served = ", ".join(
        f"{name} ({queue.rq_name(name)}{f', weight {weights[name]}' if weights else ''})" for name in names
    )
    how = "weighted" if weights else "in this order"
    click.echo(f"fedikit worker: serving {served}, {how}, on {_safe(queue)}{' until empty' if burst else ''}")
    queue.work(names, weights=weights, burst=burst)


def _parse(queues: str) -> tuple[list[str], dict[str, int] | None]:
    """``a:3,b:1`` -> (names, weights); ``a,b`` -> (names, None). Weights for all or for none."""
    names, weights = [], {}
    for part in (p.strip() for p in queues.split(",")):
        if not part:
            continue
        name, colon, weight = part.partition(":")
        name = name.strip()
        if colon:
            try:
                weights[name] = int(weight)
            except ValueError:
                raise click.UsageError(f"--queues: the weight of {name} is not a whole number: {weight!r}") from None
            if weights[name] < 1:
                raise click.UsageError(f"--queues: the weight of {name} must be at least 1")
        if name in names:
            raise click.UsageError(f"--queues names {name} twice")
        names.append(name)
    if not names:
        raise click.UsageError("--queues names no queue")
    if weights and len(weights) != len(names):
        raise click.UsageError("--queues: give a weight to every queue (NAME:WEIGHT), or to none")
    return names, weights or None


def _safe(queue: object) -> str:
    """The Redis server, without the password an URL may carry."""
    kwargs = queue.redis.connection_pool.connection_kwargs  # type: ignore[attr-defined]
    where = kwargs.get("path") or f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"
    return f"redis {where}/{kwargs.get('db', 0)}"
