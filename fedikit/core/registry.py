"""Backend providers: kind -> name -> factory, and the choice of one per kind."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from fedikit.plugin_api import BackendFactory, BackendKind, StartupError

log = logging.getLogger("fedikit.backends")

CONFIG_KEYS: dict[BackendKind, str] = {
    BackendKind.FEEDS: "FEEDS_BACKEND",
    BackendKind.QUEUE: "QUEUE_BACKEND",
    BackendKind.MEDIA: "MEDIA_BACKEND",
    BackendKind.SEARCH: "SEARCH_BACKEND",
    BackendKind.STREAMING: "STREAMING_BACKEND",
    BackendKind.CACHE: "CACHE_BACKEND",
}

EMBEDDED: dict[BackendKind, str] = {
    BackendKind.FEEDS: "sql",
    BackendKind.QUEUE: "inline",
    BackendKind.MEDIA: "local",
    BackendKind.SEARCH: "sql",
    BackendKind.STREAMING: "memory",
    BackendKind.CACHE: "memory",
}


def derived_choice(kind: BackendKind, config: Mapping[str, Any]) -> str:
    """The backend an admin means when they configured a service but named no backend."""
    if kind is BackendKind.CACHE and (config.get("CACHE_REDIS_URL") or config.get("REDIS_URL")):
        return "redis"
    if kind in (BackendKind.FEEDS, BackendKind.QUEUE, BackendKind.STREAMING) and config.get("REDIS_URL"):
        return {BackendKind.FEEDS: "redis", BackendKind.QUEUE: "rq", BackendKind.STREAMING: "redis"}[kind]
    if kind is BackendKind.MEDIA and config.get("S3_ENABLED"):
        return "s3"
    if kind is BackendKind.SEARCH and config.get("ES_ENABLED"):
        return "elasticsearch"
    if _processes(config) > 1 and kind in SHARED_WITHOUT_SERVICES:
        return SHARED_WITHOUT_SERVICES[kind]
    return EMBEDDED[kind]


# With several web processes and no services, what one process holds must reach the others.
SHARED_WITHOUT_SERVICES: dict[BackendKind, str] = {BackendKind.STREAMING: "sockets", BackendKind.CACHE: "sqlite"}


def _processes(config: Mapping[str, Any]) -> int:
    try:
        return int(config.get("WEB_CONCURRENCY") or 1)
    except (TypeError, ValueError):
        return 1


@dataclasses.dataclass(frozen=True)
class BackendOffer:
    kind: BackendKind
    name: str
    factory: BackendFactory
    plugin: str
    description: str = ""


@dataclasses.dataclass(frozen=True)
class Choice:
    offer: BackendOffer
    reason: str  # "FEEDS_BACKEND", "REDIS_URL is set", "embedded default"


class Registry:
    """Collects offers from every plugin's ``register_backends``."""

    def __init__(self) -> None:
        self.offers: dict[BackendKind, dict[str, BackendOffer]] = {kind: {} for kind in BackendKind}

    def for_plugin(self, plugin: str) -> PluginRegistry:
        return PluginRegistry(self, plugin)

    def add(self, offer: BackendOffer) -> None:
        existing = self.offers[offer.kind].get(offer.name)
        if existing is not None:
            raise StartupError(
                f"plugins {existing.plugin!r} and {offer.plugin!r} both offer a {offer.kind} "
                f"backend named {offer.name!r}; disable one with FEDIKIT_DISABLED_PLUGINS"
            )
        self.offers[offer.kind][offer.name] = offer

    def choose(self, kind: BackendKind, config: Mapping[str, Any], disabled: set[str]) -> Choice:
        key = CONFIG_KEYS[kind]
        offers = self.offers[kind]
        if config.get(key):
            name = str(config[key]).strip()
            if name in offers:
                return Choice(offers[name], key)
            raise StartupError(
                f"{key}={name}: no loaded plugin offers a {kind} backend named {name!r}{_hint(offers, disabled)}"
            )
        name = derived_choice(kind, config)
        if name in offers:
            if name == EMBEDDED[kind]:
                reason = "embedded default"
            elif name == SHARED_WITHOUT_SERVICES.get(kind):
                reason = "WEB_CONCURRENCY > 1 without services"
            else:
                reason = "derived from the configured services"
            return Choice(offers[name], reason)
        fallback = EMBEDDED[kind]
        if name != fallback and fallback in offers:
            log.warning("%s: %r is not available, using %r; set %s to choose", kind, name, fallback, key)
            return Choice(offers[fallback], f"{name!r} unavailable")
        raise StartupError(f"{key}: no {kind} backend named {name!r} is loaded{_hint(offers, disabled)}")


def _hint(offers: Mapping[str, BackendOffer], disabled: set[str]) -> str:
    hint = f" (offered: {', '.join(sorted(offers)) or 'none'}"
    if disabled:
        hint += f"; disabled plugins: {', '.join(sorted(disabled))}"
    return hint + ")"


@dataclasses.dataclass
class PluginRegistry:
    """The registry one plugin's ``register_backends`` receives: it knows who is offering."""

    registry: Registry
    plugin: str

    def add(self, kind: BackendKind | str, name: str, factory: BackendFactory, *, description: str = "") -> None:
        try:
            kind = BackendKind(kind)
        except ValueError:
            raise StartupError(f"plugin {self.plugin!r} offers a backend of unknown kind {kind!r}") from None
        if not callable(factory):
            raise StartupError(f"plugin {self.plugin!r}: the factory for {kind} backend {name!r} is not callable")
        self.registry.add(BackendOffer(kind, name, factory, self.plugin, description))
