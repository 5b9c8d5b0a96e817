"""What one app knows about its plugins and backends: ``current()`` inside a request or job."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pluggy
from flask import Flask, current_app

from fedikit.core.plugins import PluginInfo, emit
from fedikit.core.registry import Choice
from fedikit.core.renders import Renders
from fedikit.plugin_api import (
    BackendKind,
    Cache,
    FeedStore,
    JobQueue,
    MediaStore,
    PubSub,
    SearchIndex,
    StartupError,
)


@dataclasses.dataclass
class JobHandlers:
    handlers: dict[str, Callable[..., None]] = dataclasses.field(default_factory=dict)
    owners: dict[str, str] = dataclasses.field(default_factory=dict)

    def add(self, name: str, handler: Callable[..., None], plugin: str) -> None:
        if name in self.handlers:
            raise StartupError(f"plugins {self.owners[name]!r} and {plugin!r} both register job {name!r}")
        self.handlers[name] = handler
        self.owners[name] = plugin


@dataclasses.dataclass
class Fedikit:
    app: Flask
    config: dict[str, Any]
    pm: pluggy.PluginManager
    plugins: list[PluginInfo]
    jobs: JobHandlers = dataclasses.field(default_factory=JobHandlers)
    choices: dict[BackendKind, Choice] = dataclasses.field(default_factory=dict)
    backends: dict[BackendKind, Any] = dataclasses.field(default_factory=dict)
    moderation_filters: list[Any] = dataclasses.field(default_factory=list)
    renders: Renders = dataclasses.field(default_factory=Renders)  # see fedikit.core.renders
    # What services keep between requests and jobs, per app (e.g. the domain blocks: services.domain_blocks)
    memo: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def feeds(self) -> FeedStore:
        return self.backends[BackendKind.FEEDS]

    @property
    def queue(self) -> JobQueue:
        return self.backends[BackendKind.QUEUE]

    @property
    def media(self) -> MediaStore:
        return self.backends[BackendKind.MEDIA]

    @property
    def search(self) -> SearchIndex:
        return self.backends[BackendKind.SEARCH]

    @property
    def streaming(self) -> PubSub:
        return self.backends[BackendKind.STREAMING]

    @property
    def cache(self) -> Cache:
        return self.backends[BackendKind.CACHE]

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def emit(self, event: str, **kwargs: Any) -> None:
        emit(self.pm, event, **kwargs)

    def close(self) -> None:
        """Stop background work (the job queue) and release backends."""
        for backend in self.backends.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()


def current() -> Fedikit:
    return current_app.extensions["fedikit"]
