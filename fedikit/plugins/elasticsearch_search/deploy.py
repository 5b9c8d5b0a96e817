"""Filling the indexes with what the database holds, in batches, resumably (``fedikit search deploy``).

Progress is a small JSON file per index under the data directory
(``<FEDIKIT_DATA_DIR>/elasticsearch_search/deploy-<index>.json``): the last id
indexed, and whether the pass finished. A pass that stops (Ctrl-C, a failed
batch) starts again after that id; a pass that finished is done again from
the start the next time (documents are replaced, so that is safe). When the
index does not exist any more the progress is forgotten. The documents
themselves come from core (``BackendContext.search_documents``), in id
order, with the text its indexing jobs store.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fedikit.plugin_api import SearchDocuments
from fedikit.plugins.elasticsearch_search.index import ElasticsearchSearchIndex

ProgressBar = Callable[[int, str], contextlib.AbstractContextManager[Any]]


@dataclasses.dataclass
class Progress:
    last_id: int = 0
    done: bool = False


@dataclasses.dataclass(frozen=True)
class KindReport:
    kind: str
    index: str
    indexed: int
    resumed_after: int  # 0 when the pass started from the beginning
    created: bool  # the index was (re)made by this run


def progress_file(state_dir: Path, index_name: str) -> Path:
    return state_dir / "elasticsearch_search" / f"deploy-{index_name}.json"


def read_progress(path: Path) -> Progress:
    try:
        data = json.loads(path.read_text())
        return Progress(int(data["last_id"]), bool(data["done"]))
    except (OSError, ValueError, KeyError, TypeError):  # missing or unreadable: start from the beginning
        return Progress()


def write_progress(path: Path, progress: Progress) -> None:
    """Replace the file in one step, so that a stop mid-write leaves the previous progress."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(dataclasses.asdict(progress)))
    os.replace(partial, path)


def deploy_kind(
    index: ElasticsearchSearchIndex,
    documents: SearchDocuments,
    kind: str,
    *,
    state_dir: Path,
    batch_size: int = 1000,
    reset: bool = False,
    progress_bar: ProgressBar | None = None,
) -> KindReport:
    """Make ``kind``'s index (anew with ``reset``) and index every stored document of ``kind`` into it."""
    name = index.settings.index_name(kind)
    path = progress_file(state_dir, name)
    created = index.create_index(kind, reset=reset)
    progress = Progress() if created or reset else read_progress(path)
    after = 0 if progress.done else progress.last_id
    resumed_after = after
    indexed = 0
    bar = progress_bar or _no_bar
    with bar(documents.count(kind, after_id=after), name) as shown:
        for batch in _batches(documents, kind, after, batch_size):
            indexed += index.bulk_index(kind, batch, chunk_size=batch_size)
            after = batch[-1][0]
            write_progress(path, Progress(after, done=False))
            shown.update(len(batch))
    write_progress(path, Progress(after, done=True))
    return KindReport(kind, name, indexed, resumed_after, created)


def _batches(documents: SearchDocuments, kind: str, after: int, size: int) -> Iterator[list[tuple[int, str]]]:
    while batch := documents.batch(kind, after_id=after, limit=size):
        yield batch
        after = batch[-1][0]


class _Silent:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def _no_bar(length: int, label: str) -> Iterator[_Silent]:
    yield _Silent()
