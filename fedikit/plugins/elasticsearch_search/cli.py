"""``fedikit search deploy``: templates, indexes, and every stored status and account, as ``tootctl search deploy``."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app

from fedikit.plugin_api import BackendError

KIND_ORDER = ("accounts", "statuses")  # accounts first: few, and compose autocomplete needs them most


@click.group("search")
def search_group() -> None:
    """Upkeep of the Elasticsearch search index."""


@search_group.command("deploy")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=1000,
    show_default=True,
    help="Documents read from the database and sent to Elasticsearch at a time.",
)
@click.option("--only", type=click.Choice(KIND_ORDER), default=None, help="Deploy one index only.")
@click.option(
    "--reset",
    is_flag=True,
    help="Delete the indexes and make them again from the current templates (needed after analyzers change).",
)
def deploy(batch_size: int, only: str | None, reset: bool) -> None:
    """Write the index templates, make the indexes and index every stored document.

    An interrupted run continues after the last batch it finished; a run
    after a finished one indexes everything again.
    """
    from fedikit.plugins.elasticsearch_search.deploy import deploy_kind
    from fedikit.plugins.elasticsearch_search.index import ElasticsearchSearchIndex

    index = current_app.extensions["fedikit"].search
    if not isinstance(index, ElasticsearchSearchIndex):
        raise click.ClickException(
            f"the search backend is {type(index).__name__}, which keeps itself up to date; `fedikit search "
            "deploy` fills an Elasticsearch index: set ES_ENABLED=true (or SEARCH_BACKEND=elasticsearch)"
        )
    if index.documents is None:
        raise click.ClickException("this fedikit offers no stored documents to index (no search_documents)")
    click.echo(f"fedikit search deploy: Elasticsearch at {index.settings.url}")
    for kind in (only,) if only else KIND_ORDER:
        try:
            with index.errors():
                report = deploy_kind(
                    index,
                    index.documents,
                    kind,
                    state_dir=index.state_dir,
                    batch_size=batch_size,
                    reset=reset,
                    progress_bar=_bar,
                )
        except BackendError as exc:
            raise click.ClickException(
                f"{kind}: {exc}\nrun the command again to continue after the last batch done"
            ) from None
        how = "made anew" if report.created else "kept"
        resumed = f", resumed after id {report.resumed_after}" if report.resumed_after else ""
        click.echo(f"{report.index}: index {how}, {report.indexed} {kind} indexed{resumed}")


def _bar(length: int, label: str) -> Any:
    return click.progressbar(length=length, label=label, show_pos=True)
