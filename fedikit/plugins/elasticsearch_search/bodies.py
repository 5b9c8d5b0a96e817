"""The JSON bodies sent to Elasticsearch: index templates, documents, searches. Pure functions, no client.

What a person typed only ever reaches Elasticsearch as the text of a
``match`` query (all words required), which Elasticsearch analyses as it
analysed the documents and never parses: ``"``, ``*``, ``:``, ``-``, ``OR``,
``NEAR(`` are words or nothing, never operators. ``query_string`` (Lucene
syntax) is never used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fedikit.plugins.elasticsearch_search.settings import ElasticsearchSettings

KINDS = frozenset({"statuses", "accounts"})
PREFIX_KINDS = frozenset({"accounts"})  # words match the words they begin (compose autocomplete)
MAX_QUERY_WORDS = 16  # as the SQL index: more words only narrow the answer
MAX_QUERY_CHARS = 500  # a 10,000-character "query" is cut, not sent
MAX_PREFIX = 20  # longest word beginning stored for accounts; longer query words are cut to it
MAX_RESULT_WINDOW = 10_000  # Elasticsearch's default index.max_result_window: from + size beyond it is an error
TEMPLATE_PRIORITY = 200  # above Elasticsearch's built-in templates (100), which never match these names anyway

# Statuses: words as the standard tokenizer finds them (Unicode word boundaries), lowercased, accents folded
# (``cafe`` finds ``café``), and English plurals and endings lightly stemmed (``dogs`` finds ``dog``).
STATUS_ANALYSIS: dict[str, Any] = {
    "filter": {"fedikit_english_light": {"type": "stemmer", "language": "light_english"}},
    "analyzer": {
        "fedikit_text": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "fedikit_english_light"],
        }
    },
}
# Accounts: every beginning of every word is indexed (``alice`` as ``a``, ``al``, ... ``alice``), so a query
# word, analysed without the n-grams, matches the words it begins.
ACCOUNT_ANALYSIS: dict[str, Any] = {
    "filter": {
        "fedikit_word_starts": {"type": "edge_ngram", "min_gram": 1, "max_gram": MAX_PREFIX},
        "fedikit_prefix_length": {"type": "truncate", "length": MAX_PREFIX},
    },
    "analyzer": {
        "fedikit_word_starts": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "fedikit_word_starts"],
        },
        "fedikit_words": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "fedikit_prefix_length"],
        },
    },
}
TEXT_FIELDS: dict[str, dict[str, Any]] = {
    "statuses": {"type": "text", "analyzer": "fedikit_text"},
    "accounts": {"type": "text", "analyzer": "fedikit_word_starts", "search_analyzer": "fedikit_words"},
}


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown search kind {kind!r}")


def index_template(settings: ElasticsearchSettings, kind: str) -> dict[str, Any]:
    """Keyword arguments of ``indices.put_index_template`` for ``kind``'s index.

    The template, not the index, holds settings and mappings, so an index
    that is deleted comes back right even when a write recreates it.
    Changing analyzers reaches existing indexes only through
    ``fedikit search deploy --reset``.
    """
    check_kind(kind)
    name = settings.index_name(kind)
    return {
        "name": f"{name}-template",
        "index_patterns": [name],
        "priority": TEMPLATE_PRIORITY,
        "template": {
            "settings": {
                "number_of_shards": settings.shards,
                "number_of_replicas": settings.replicas,
                "analysis": STATUS_ANALYSIS if kind == "statuses" else ACCOUNT_ANALYSIS,
            },
            "mappings": {
                "dynamic": "strict",
                "properties": {"id": {"type": "long"}, "text": TEXT_FIELDS[kind]},
            },
        },
        "meta": {"managed_by": "fedikit elasticsearch_search"},
    }


def document(id: int, text: str) -> dict[str, Any]:
    """A document as stored: the text, and the id again as a number to break ties in ranking.

    The ``SearchIndex`` protocol hands over only an id and a text, so nothing
    about who posted or who may see it is stored; core filters visibility
    after the search.
    """
    return {"id": id, "text": text}


def plain_words(query: str) -> str:
    """``query`` cut to its first words and characters; "" when no word in it holds a letter or digit."""
    words = [word for word in query.split() if any(char.isalnum() for char in word)]
    return " ".join(words[:MAX_QUERY_WORDS])[:MAX_QUERY_CHARS]


def search_body(query: str, *, limit: int, offset: int) -> dict[str, Any] | None:
    """Keyword arguments of ``search``: every word required, best match first; None when nothing can match."""
    words = plain_words(query)
    size = min(max(limit, 0), MAX_RESULT_WINDOW - max(offset, 0))
    if not words or size <= 0:
        return None
    return {
        "query": {"match": {"text": {"query": words, "operator": "and"}}},
        "from": max(offset, 0),
        "size": size,
        "sort": ["_score", {"id": "desc"}],
        "source": False,
        "track_total_hits": False,
    }


def bulk_actions(index: str, documents: Iterable[tuple[int, str]]) -> Iterator[dict[str, Any]]:
    """Actions for the bulk helper: each document replaces the one with its id."""
    for id, text in documents:
        yield {"_op_type": "index", "_index": index, "_id": str(id), "_source": document(id, text)}
