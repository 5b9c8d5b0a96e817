"""The application factory.

``create_app()`` consults the hook areas in this fixed order; a plugin can rely
on everything before its hook having happened:

1. configuration is read (``create_app``'s mapping, environment, env file);
2. plugins are discovered and registered, and ``check_pending()`` runs;
3. ``config_defaults`` fill in, then ``validate_config`` checks the result;
4. ``register_jobs`` collects job handlers;
5. ``register_backends`` collects providers; one per kind is chosen and built;
6. ``register_moderation_filters`` collects filters, ordered by ``MODERATION_FILTERS``;
7. core's routes, then every ``register_blueprints`` blueprint, are registered;
8. required hooks are checked (a renderer and an authenticator must exist);
9. ``startup(app)`` runs, and one line per backend kind is logged.

Any step failing raises :class:`StartupError` and nothing is left running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from flask import Flask

from fedikit.core import config as config_module
from fedikit.core import jobs, plugins
from fedikit.core.db import db, end_read_transactions, prepare_engine
from fedikit.core.jsonout import OrjsonProvider
from fedikit.core.registry import Registry
from fedikit.core.renders import Renders
from fedikit.core.state import Fedikit
from fedikit.plugin_api import BACKEND_PROTOCOLS, BackendContext, BackendKind, StartupError

log = logging.getLogger("fedikit")

REQUIRED_HOOKS = {
    "render_status_html": "a content renderer (the bundled plain_text plugin)",
    "authenticate": "an authenticator (the bundled local_auth plugin)",
}


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    env_file: str | os.PathLike[str] | None | bool = None,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Sequence[object] = (),
) -> Flask:
    """Build an instance's app.

    ``config`` overrides every other source; ``environ`` replaces ``os.environ``
    (tests); ``extra_plugins`` are plugin objects registered after the
    discovered ones, as if installed (the testing kit uses this).
    """
    # 1. configuration as given, enough to know which plugins to load
    raw = config_module.load(config, environ=environ, env_file=env_file)

    # 2. plugins
    pm = plugins.new_manager()
    infos = plugins.load(raw, pm, extra=extra_plugins)

    # 3. plugin defaults, validation
    defaults: dict[str, Any] = {}
    for _plugin_name, result in _results(pm, "config_defaults"):
        for key, value in dict(result).items():
            if key in defaults and defaults[key] != value:
                raise StartupError(f"plugins disagree on the default of {key}; set it explicitly")
            defaults[key] = value
    settings = config_module.load(config, environ=environ, env_file=env_file, plugin_defaults=defaults)
    pm.hook.validate_config(config=MappingProxyType(settings))

    settings["FEDIKIT_DATA_DIR"].mkdir(parents=True, exist_ok=True)
    app = Flask("fedikit", static_folder=None)
    app.config.update(settings)
    app.config["SECRET_KEY"] = config_module.secret_key(settings)
    # The sign-in cookie is not sent with another site's POST (forms here also carry a CSRF token).
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", _engine_options(settings))
    app.json = OrjsonProvider(app)
    state = Fedikit(app=app, config=settings, pm=pm, plugins=infos, renders=Renders(settings["RENDER_CACHE_SIZE"]))

    # 4. jobs
    from fedikit.core.services import conversations, notifications, polls, scheduled, timelines
    from fedikit.core.streaming import publish

    # core's own jobs, registered like any plugin's
    for module in (timelines, notifications, polls, scheduled, conversations, publish):
        for name, handler in module.JOBS.items():
            state.jobs.add(name, handler, "core")
    for plugin_name, result in _results(pm, "register_jobs"):
        for name, handler in dict(result).items():
            state.jobs.add(name, handler, plugin_name)

    # 5. backends
    registry = Registry()
    for impl in pm.hook.register_backends.get_hookimpls():
        impl.function(registry=registry.for_plugin(impl.plugin_name))
    disabled = set(settings["FEDIKIT_DISABLED_PLUGINS"])
    context = BackendContext(
        config=settings,
        data_dir=settings["FEDIKIT_DATA_DIR"],
        run_job=lambda job: jobs.run(app, job),
        search_documents=timelines.IndexedDocuments(),
    )
    for kind in BackendKind:
        choice = registry.choose(kind, settings, disabled)
        try:
            backend = choice.offer.factory(context)
        except StartupError:
            raise
        except Exception as exc:
            raise StartupError(
                f"{kind} backend {choice.offer.name!r} from plugin {choice.offer.plugin!r} failed to start: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        protocol = BACKEND_PROTOCOLS[kind]
        if not isinstance(backend, protocol):
            raise StartupError(
                f"{kind} backend {choice.offer.name!r} from plugin {choice.offer.plugin!r} "
                f"does not implement {protocol.__name__}"
            )
        state.choices[kind] = choice
        state.backends[kind] = backend
    if settings["WEB_CONCURRENCY"] > 1 and not state.streaming.cross_process:
        raise StartupError(
            f"WEB_CONCURRENCY={settings['WEB_CONCURRENCY']}: the streaming backend "
            f"{state.choices[BackendKind.STREAMING].offer.name!r} works within one process; "
            "use 1 or choose a cross-process STREAMING_BACKEND"
        )

    if settings["WEB_CONCURRENCY"] > 1 and not state.cache.shared:
        log.warning(
            "WEB_CONCURRENCY=%d with the %s cache: each process keeps its own rate-limit counters and "
            "Idempotency-Keys; a shared cache (REDIS_URL) makes them one",
            settings["WEB_CONCURRENCY"],
            state.choices[BackendKind.CACHE].offer.name,
        )
    if state.queue.durable and not state.streaming.cross_process:
        log.warning(
            "the %s job queue may run jobs in other processes, but the %s streaming backend reaches this "
            "process only: posts handled by workers elsewhere will not be streamed; choose a cross-process "
            "STREAMING_BACKEND (REDIS_URL)",
            state.choices[BackendKind.QUEUE].offer.name,
            state.choices[BackendKind.STREAMING].offer.name,
        )

    # 6. moderation filters
    filters = [(name, f) for name, result in _results(pm, "register_moderation_filters") for f in result]
    state.moderation_filters = _order_filters(filters, settings["MODERATION_FILTERS"])

    # 7. routes
    db.init_app(app)
    with app.app_context():
        prepare_engine(db.engine)
    app.extensions["fedikit"] = state
    from fedikit.core.web import register_core_routes

    register_core_routes(app)
    jobs.install(app)
    end_read_transactions(app)
    for _plugin_name, result in _results(pm, "register_blueprints"):
        for blueprint in result:
            app.register_blueprint(blueprint)

    # 8. hooks the instance cannot run without
    for hook_name, what in REQUIRED_HOOKS.items():
        if not getattr(pm.hook, hook_name).get_hookimpls():
            raise StartupError(f"no plugin implements {hook_name}: enable {what}")

    # 9. startup
    pm.hook.startup(app=app)
    for kind in BackendKind:
        choice = state.choices[kind]
        log.info("%s backend: %s (plugin %s; %s)", kind, choice.offer.name, choice.offer.plugin, choice.reason)
    return app


def _results(pm: Any, hook_name: str) -> list[tuple[str, Any]]:
    """Call a collecting hook per implementation, keeping who answered what (None answers dropped)."""
    out = []
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        result = impl.function()
        if result is not None:
            out.append((impl.plugin_name, result))
    return out


def _order_filters(filters: list[tuple[str, Any]], order: list[str]) -> list[Any]:
    by_name: dict[str, Any] = {}
    for plugin_name, f in filters:
        name = getattr(f, "name", None)
        if not name or not callable(getattr(f, "check", None)):
            raise StartupError(f"plugin {plugin_name!r} offers a moderation filter without a name or check()")
        if name in by_name:
            raise StartupError(f"two moderation filters are named {name!r}")
        by_name[name] = f
    for name in order:
        if name not in by_name:
            raise StartupError(
                f"MODERATION_FILTERS: no filter named {name!r} (known: {', '.join(sorted(by_name)) or 'none'})"
            )
    rest = sorted(set(by_name) - set(order))
    return [by_name[name] for name in [*order, *rest]]


def _engine_options(settings: dict[str, Any]) -> dict[str, Any]:
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False}}  # busy timeout: see db._sqlite_pragmas
    # Connections kept open per process: DB_POOL (Mastodon's name), else one per request thread and job
    # thread. Streams and bursts borrow up to 10 more, returned (closed) once the burst is over.
    pool = str(settings.get("DB_POOL") or settings["MAX_THREADS"] + settings["JOB_WORKERS"])
    if not pool.isdigit() or int(pool) < 1:
        raise StartupError(f"DB_POOL: expected a number of connections, got {pool!r}")
    # Pooled connections are checked only after sitting unused (db.IDLE_BEFORE_PING), not on every use.
    from fedikit.core import postgres

    return {"pool_size": int(pool), "max_overflow": 10, **postgres.engine_options()}
