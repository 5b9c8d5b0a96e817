"""Media files in a folder of the instance (``PAPERCLIP_ROOT_PATH``, default ``<data dir>/media``)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.MEDIA, "local", _build, description="files under the data folder")


@hookimpl
def register_blueprints() -> list[Blueprint]:
    from fedikit.plugins.local_media.views import bp

    return [bp]


def _build(context: BackendContext) -> object:
    from fedikit.plugins.local_media.store import LocalMediaStore

    root = Path(context.config.get("PAPERCLIP_ROOT_PATH") or context.data_dir / "media")
    base_url = context.config.get("PAPERCLIP_ROOT_URL") or f"{context.config['BASE_URL']}/system"
    return LocalMediaStore(root, base_url)
