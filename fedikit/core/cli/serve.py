"""``fedikit serve``: gunicorn with threaded workers (what the WebSocket streaming API needs)."""

from __future__ import annotations

import gc
import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

import click

from fedikit.core.cli import make_app
from fedikit.plugin_api import StartupError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=3000, show_default=True, type=int)
@click.option(
    "--workers",
    default=None,
    type=int,
    help="Processes (default: WEB_CONCURRENCY). Set WEB_CONCURRENCY in the env file instead when other "
    "fedikit commands must reach the web processes' streams (without Redis).",
)
@click.option("--threads", default=None, type=int, help="Threads per process (default: MAX_THREADS).")
@click.option("--tls", is_flag=True, help="Serve https with a self-signed certificate made on first use.")
def serve(host: str, port: int, workers: int | None, threads: int | None, tls: bool) -> None:
    """Serve the instance over HTTP."""
    from gunicorn.app.base import BaseApplication

    if workers:  # what WEB_CONCURRENCY says, for this run: the backends are chosen for it
        os.environ["WEB_CONCURRENCY"] = str(workers)
    try:
        app = make_app(click.get_current_context())
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    from fedikit.core.database import pending

    if pending(app):
        raise click.ClickException("the database needs migrating: run `fedikit db upgrade` first")
    from fedikit.core.db import db

    with app.app_context():
        db.engine.dispose()  # no connection may cross the fork into the workers

    options = {
        "bind": f"{host}:{port}",
        "workers": app.config["WEB_CONCURRENCY"],
        # API requests get MAX_THREADS threads; each open stream holds one more of its own
        "threads": (threads or app.config["MAX_THREADS"]) + app.config["STREAMING_MAX_CONNECTIONS"],
        "worker_class": "gthread",
        "preload_app": True,  # the app is built once, before forking: a bad config fails here
        "accesslog": "-",
        "logger_class": "fedikit.core.cli.serve.AccessLog",
        "errorlog": "-",
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 20,
        "post_worker_init": _end_streams_on_shutdown,
    }
    scheme = "http"
    if tls:
        from fedikit.core.cli.tls import self_signed

        certfile, keyfile = self_signed(app.config["FEDIKIT_DATA_DIR"], app.config["LOCAL_DOMAIN"].split(":")[0])
        options.update(certfile=str(certfile), keyfile=str(keyfile))
        scheme = "https"
    if options["workers"] > 1 and not app.extensions["fedikit"].streaming.cross_process:
        raise click.ClickException("--workers > 1 needs a cross-process STREAMING_BACKEND")

    app.wsgi_app = RequestSlots(app.wsgi_app, options["threads"] - app.config["STREAMING_MAX_CONNECTIONS"])

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)
            if "control_socket_disable" in self.cfg.settings:  # unused, and it would write under $HOME
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            return app

    click.echo(f"Serving {app.config['LOCAL_DOMAIN']} on {scheme}://{host}:{port}", err=True)
    # Everything built so far is shared with the workers after the fork; moving it out of the garbage
    # collector's reach keeps collections in the workers from touching (and so copying) those pages.
    gc.collect()
    gc.freeze()
    Server().run()


class RequestSlots:
    """At most ``slots`` requests other than streams run at once in a process (``MAX_THREADS``).

    Gunicorn gives each process one pool of threads, for API requests and open
    streams alike; without this a burst of requests would run on all of them
    at once, and threads holding the GIL in turns answer each request later
    and fewer of them in all. Streams wait on their sockets, not on the
    interpreter, and have their own bound (``STREAMING_MAX_CONNECTIONS``).
    """

    STREAMS = "/api/v1/streaming"

    def __init__(self, app: Callable[..., Iterable[bytes]], slots: int) -> None:
        self.app = app
        self.slots = threading.BoundedSemaphore(slots)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(self.STREAMS):
            return self.app(environ, start_response)
        self.slots.acquire()
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self.slots.release()
            raise
        from werkzeug.wsgi import ClosingIterator

        return ClosingIterator(body, self.slots.release)  # the slot is free once the body is sent


try:  # gunicorn is a dependency of ``fedikit serve`` only
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object  # type: ignore[assignment,misc]

_TOKEN_IN_QUERY = re.compile(r"(access(?:_|%5[fF])token=)[^&]*")


class AccessLog(_GunicornLogger):  # type: ignore[misc,valid-type]
    """One line per request in the combined log format, plus the time taken.

    Gunicorn's own line builds a dictionary of every request and response
    header first, which cost a tenth of a timeline request's CPU. The query
    string keeps everything but an ``access_token`` (the streaming API accepts
    one there): tokens never reach the log.
    """

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        try:
            self._line(resp, req, environ, request_time)
        except Exception:  # a log line must never cost the request its clean-up
            self.error("could not write the access log line", exc_info=True)

    def _line(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        target = req.path
        if req.query:
            query = _TOKEN_IN_QUERY.sub(r"\1[FILTERED]", req.query) if "token=" in req.query else req.query
            target = f"{target}?{query}"
        self.access_log.info(
            '%s - - %s "%s %s HTTP/%s.%s" %s %s "%s" "%s" %.1fms',
            environ.get("REMOTE_ADDR", "-"),
            self.now(),
            req.method,
            target,
            *req.version,
            resp.status_code,
            getattr(resp, "sent", "-"),
            environ.get("HTTP_REFERER", "-"),
            environ.get("HTTP_USER_AGENT", "-"),
            request_time.total_seconds() * 1000,
        )


def _end_streams_on_shutdown(worker: Any) -> None:
    """Open streams never finish by themselves: when the worker is told to stop, tell them too.

    Gunicorn has set its own signal handlers by now; this wraps the one for SIGTERM.
    """
    import signal

    from fedikit.core.streaming.connection import STOPPING

    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, frame: Any) -> None:
        STOPPING.set()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, stop)
