"""Search on Elasticsearch, with Mastodon's settings; ``fedikit search deploy`` fills it.

Chosen when ``ES_ENABLED=true`` (or ``SEARCH_BACKEND=elasticsearch``).
Settings, as Mastodon names them: ``ES_HOST`` (a host, ``host:port`` or an
``http(s)://`` URL; default ``localhost``), ``ES_PORT`` (9200, when
``ES_HOST`` names none), ``ES_USER`` and ``ES_PASS`` (basic authentication),
``ES_PREFIX`` (index names ``<prefix>_statuses`` and ``<prefix>_accounts``;
default ``REDIS_NAMESPACE``, else plain ``statuses`` and ``accounts``) and
``ES_PRESET`` (``single_node_cluster``, the default, makes indexes without
replicas; ``small_cluster`` and ``large_cluster`` give them one). For tests
only, ``ES_REFRESH=true`` makes each write searchable before it returns.

Posts and profiles reach the index through core's indexing jobs as they
are written. Those stored before the index existed get there with
``fedikit search deploy``. The client library is imported only when this
backend is chosen or its command runs.
"""

from __future__ import annotations

import logging
from typing import Any

import click

from fedikit.plugin_api import BackendContext, BackendKind, BackendRegistry, hookimpl

log = logging.getLogger("fedikit.elasticsearch")


@hookimpl
def register_backends(registry: BackendRegistry) -> None:
    registry.add(BackendKind.SEARCH, "elasticsearch", _build, description="Elasticsearch (ES_ENABLED, ES_HOST)")


@hookimpl
def register_commands(cli: click.Group) -> None:
    if "search" in cli.commands:  # a plugin registered after this one (so called first) chose its own; keep it
        log.warning("another plugin offers a `fedikit search` command; the Elasticsearch one is not added")
        return
    from fedikit.plugins.elasticsearch_search.cli import search_group

    cli.add_command(search_group)


def _build(context: BackendContext) -> Any:
    from fedikit.plugins.elasticsearch_search.settings import ElasticsearchSettings

    settings = ElasticsearchSettings.from_config(context.config)  # bad settings stop startup before any import
    from fedikit.plugins.elasticsearch_search.index import ElasticsearchSearchIndex

    return ElasticsearchSearchIndex(settings, context.search_documents, state_dir=context.data_dir)
