"""The ``SearchIndex`` on Elasticsearch (client 8 or 9 speaking to a server of the same major version).

Two indexes, ``<ES_PREFIX>_statuses`` and ``<ES_PREFIX>_accounts`` (Mastodon's
names), each made from an index template that this backend writes before its
first write in a process. A write to an index that does not exist creates it
from its template, so no command needs to run before the instance starts;
``fedikit search deploy`` fills the indexes with what is already stored.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError, helpers

from fedikit.plugin_api import BackendError, SearchDocuments
from fedikit.plugins.elasticsearch_search.bodies import (
    KINDS,
    bulk_actions,
    check_kind,
    document,
    index_template,
    search_body,
)
from fedikit.plugins.elasticsearch_search.settings import ElasticsearchSettings

REQUEST_TIMEOUT = 10.0  # seconds; a search that takes longer than this is of no use to the person waiting


class ElasticsearchSearchIndex:
    kinds = KINDS

    def __init__(
        self,
        settings: ElasticsearchSettings,
        documents: SearchDocuments | None = None,
        *,
        state_dir: Path = Path("."),
        client: Elasticsearch | None = None,
    ) -> None:
        self.settings = settings
        self.documents = documents
        self.state_dir = state_dir  # where ``search deploy`` keeps its progress
        auth = (settings.user, settings.password) if settings.user and settings.password else None
        self.client = client or Elasticsearch(
            settings.url, basic_auth=auth, request_timeout=REQUEST_TIMEOUT, max_retries=2, retry_on_timeout=True
        )
        self._templates_written = False
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- SearchIndex

    def index(self, kind: str, id: int, text: str) -> None:
        check_kind(kind)
        with self.errors():
            self.ensure_templates()
            self.client.index(
                index=self.settings.index_name(kind), id=str(id), document=document(id, text), refresh=self._refresh
            )

    def remove(self, kind: str, id: int) -> None:
        check_kind(kind)
        with self.errors():
            self.client.options(ignore_status=404).delete(
                index=self.settings.index_name(kind), id=str(id), refresh=self._refresh
            )

    def search(self, kind: str, query: str, *, limit: int = 20, offset: int = 0) -> list[int]:
        check_kind(kind)
        body = search_body(query, limit=limit, offset=offset)
        if body is None:
            return []
        with self.errors():
            # A missing index (nothing indexed yet) answers no hits rather than an error.
            answer = self.client.search(index=self.settings.index_name(kind), ignore_unavailable=True, **body)
        return [int(hit["_id"]) for hit in answer["hits"]["hits"]]

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """The client's errors as :class:`BackendError`, naming the server (jobs retry; commands print one line)."""
        try:
            yield
        except (ApiError, TransportError) as exc:
            raise BackendError(f"elasticsearch at {self.settings.url}: {exc}") from exc

    # ---------------------------------------------------------------- upkeep

    @property
    def _refresh(self) -> Any:
        return True if self.settings.refresh else None

    def ensure_templates(self) -> None:
        """Write both index templates once per process (writing one again changes nothing)."""
        if self._templates_written:
            return
        with self._lock:
            if not self._templates_written:
                for kind in sorted(KINDS):
                    self.client.indices.put_index_template(**index_template(self.settings, kind))
                self._templates_written = True

    def create_index(self, kind: str, *, reset: bool = False) -> bool:
        """Make ``kind``'s index from its template (after deleting it, with ``reset``); True if it was made."""
        self.ensure_templates()
        name = self.settings.index_name(kind)
        if reset:
            self.client.options(ignore_status=404).indices.delete(index=name)
        if self.client.indices.exists(index=name):
            return False
        self.client.options(ignore_status=400).indices.create(index=name)  # 400: another process made it first
        return True

    def bulk_index(self, kind: str, documents: Iterable[tuple[int, str]], *, chunk_size: int = 1000) -> int:
        """Index ``(id, text)`` pairs with the bulk API; the number indexed. Raises if any failed."""
        check_kind(kind)
        self.ensure_templates()
        actions = bulk_actions(self.settings.index_name(kind), documents)
        try:
            refresh = {"refresh": True} if self.settings.refresh else {}
            done, _ = helpers.bulk(self.client, actions, chunk_size=chunk_size, **refresh)
        except helpers.BulkIndexError as exc:
            first = exc.errors[0] if exc.errors else {}
            raise BackendError(f"elasticsearch: {len(exc.errors)} documents were not indexed, first: {first}") from None
        return int(done)

    def close(self) -> None:
        self.client.close()
