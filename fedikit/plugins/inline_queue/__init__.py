"""Jobs run by worker threads inside the web process: no services needed."""

from __future__ import annotations

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.QUEUE, "inline", _build, description="worker threads in the web process")


def _build(context: BackendContext) -> object:
    from fedikit.plugins.inline_queue.queue import InlineQueue

    return InlineQueue(
        context.run_job,
        workers=int(context.config.get("JOB_WORKERS", 2)),
        retry_scale=float(context.config.get("JOB_RETRY_SCALE", 1.0)),
    )
