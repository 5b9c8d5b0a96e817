"""The Elasticsearch search backend and ``fedikit search deploy``.

No Elasticsearch server runs where these tests usually run. The conformance
suite runs against a real server only when ``ES_HOST`` names one (for
instance ``ES_HOST=http://127.0.0.1:9200``); otherwise it is skipped. The
rest runs everywhere: the request bodies are checked as data, and the real
``elasticsearch`` client is run against a small HTTP server in this module
that records each request and answers as Elasticsearch does.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from fedikit.plugin_api import BackendError, StartupError
from fedikit.plugin_api.conformance import HOSTILE_QUERIES, SearchIndexConformance
from fedikit.plugin_api.testing import close_app, make_app
from fedikit.plugins.elasticsearch_search.bodies import (
    MAX_QUERY_CHARS,
    MAX_RESULT_WINDOW,
    index_template,
    plain_words,
    search_body,
)
from fedikit.plugins.elasticsearch_search.settings import ElasticsearchSettings

ES_HOST = os.environ.get("ES_HOST", "")
NO_SERVER = "no Elasticsearch server: set ES_HOST=http://host:9200 to run"
COMPATIBLE = "application/vnd.elasticsearch+json; compatible-with="


# ---------------------------------------------------------------- against a real server


@pytest.mark.skipif(not ES_HOST, reason=NO_SERVER)
class TestElasticsearchSearch(SearchIndexConformance):
    @pytest.fixture
    def fedikit_config(self) -> Iterator[dict[str, Any]]:
        prefix = f"fedikit-test-{secrets.token_hex(4)}"
        config = {
            "SEARCH_BACKEND": "elasticsearch",
            "ES_HOST": ES_HOST,
            "ES_USER": os.environ.get("ES_USER", ""),
            "ES_PASS": os.environ.get("ES_PASS", ""),
            "ES_PREFIX": prefix,
            "ES_REFRESH": "true",
        }
        yield config
        from elasticsearch import Elasticsearch

        settings = ElasticsearchSettings.from_config(config)
        auth = (settings.user, settings.password) if settings.user and settings.password else None
        with Elasticsearch(settings.url, basic_auth=auth) as client:
            for kind in ("statuses", "accounts"):
                client.options(ignore_status=404).indices.delete(index=settings.index_name(kind))
                client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}_{kind}-template")

    def test_stemming_and_accents(self, index: Any) -> None:
        index.index("statuses", 1, "Two dogs went to the café")
        assert index.search("statuses", "dog cafe") == [1]


# ---------------------------------------------------------------- a recording stand-in for the server


class RecordingElasticsearch:
    """An HTTP server on 127.0.0.1 that records requests and answers as Elasticsearch 9 does.

    It keeps which indexes exist (so ``HEAD`` and create behave), answers
    every search with ``hits`` (ids), and fails the bulk items whose ids are
    in ``fail_ids``. ``product`` is the ``X-Elastic-Product`` header it sends.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.indexes: set[str] = set()
        self.hits: list[int] = []
        self.fail_ids: set[str] = set()
        self.product = "Elasticsearch"
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802
                recorder.answer(self, "HEAD")

            def do_GET(self) -> None:  # noqa: N802
                recorder.answer(self, "GET")

            def do_PUT(self) -> None:  # noqa: N802
                recorder.answer(self, "PUT")

            def do_POST(self) -> None:  # noqa: N802
                recorder.answer(self, "POST")

            def do_DELETE(self) -> None:  # noqa: N802
                recorder.answer(self, "DELETE")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, method: str, path_end: str = "") -> list[dict[str, Any]]:
        """Requests with ``method`` (``*``: any) whose path ends with ``path_end``."""
        return [r for r in self.requests if method in ("*", r["method"]) and r["path"].endswith(path_end)]

    def answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(handler.path)
        raw = handler.rfile.read(int(handler.headers.get("content-length") or 0)).decode()
        lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        self.requests.append(
            {
                "method": method,
                "path": url.path,
                "params": dict(parse_qsl(url.query)),
                "headers": {k.lower(): v for k, v in handler.headers.items()},
                "body": lines[0] if len(lines) == 1 and not url.path.endswith("_bulk") else lines,
            }
        )
        status, body = self.respond(method, url.path.strip("/").split("/"), lines)
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("X-Elastic-Product", self.product)
        handler.send_header("Content-Type", "application/vnd.elasticsearch+json;compatible-with=9")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(data)

    def respond(self, method: str, parts: list[str], lines: list[Any]) -> tuple[int, Any]:
        missing = {"error": {"type": "index_not_found_exception"}, "status": 404}
        if parts[0] == "_index_template":
            return 200, {"acknowledged": True}
        if parts[0] == "_bulk":
            items = []
            for action, _source in zip(lines[::2], lines[1::2], strict=True):
                meta = action["index"]
                failed = meta["_id"] in self.fail_ids
                self.indexes.add(meta["_index"])
                result = {"_index": meta["_index"], "_id": meta["_id"], "status": 400 if failed else 201}
                if failed:
                    result["error"] = {"type": "mapper_parsing_exception", "reason": "refused by the test"}
                items.append({"index": result})
            return 200, {"errors": bool(self.fail_ids), "took": 1, "items": items}
        index = parts[0]
        if len(parts) == 1:
            if method == "HEAD":
                return (200 if index in self.indexes else 404), {}
            if method == "PUT":
                self.indexes.add(index)
                return 200, {"acknowledged": True, "index": index}
            if method == "DELETE":
                if index not in self.indexes:
                    return 404, missing
                self.indexes.discard(index)
                return 200, {"acknowledged": True}
        if parts[1] == "_search":
            return 200, {"took": 1, "timed_out": False, "hits": {"hits": [{"_id": str(i)} for i in self.hits]}}
        if parts[1] == "_doc" and method == "PUT":
            self.indexes.add(index)
            return 201, {"_index": index, "_id": parts[2], "result": "created"}
        if parts[1] == "_doc" and method == "DELETE":
            return 404, {"_index": index, "_id": parts[2], "result": "not_found"}
        return 400, {"error": {"type": "unexpected_request"}, "status": 400}


@pytest.fixture
def es() -> Iterator[RecordingElasticsearch]:
    server = RecordingElasticsearch()
    yield server
    server.close()


def settings_for(es: RecordingElasticsearch, **config: str) -> ElasticsearchSettings:
    return ElasticsearchSettings.from_config({"ES_HOST": es.url, "ES_PREFIX": "t", **config})


def backend(es: RecordingElasticsearch, **config: str) -> Any:
    from fedikit.plugins.elasticsearch_search.index import ElasticsearchSearchIndex

    return ElasticsearchSearchIndex(settings_for(es, **config))


# ---------------------------------------------------------------- request bodies


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


@pytest.mark.parametrize("query", [*HOSTILE_QUERIES, "x" * 10_000, "a " * 5_000, '"quoted phrase" AND title:x~2^3'])
def test_a_query_is_only_ever_the_text_of_a_match(query: str) -> None:
    body = search_body(query, limit=20, offset=0)
    if body is None:  # nothing in it could match a word
        assert plain_words(query) == ""
        return
    assert set(_keys(body["query"])) == {"match", "text", "query", "operator"}
    match = body["query"]["match"]["text"]
    assert match["operator"] == "and"
    assert len(match["query"]) <= MAX_QUERY_CHARS
    *whole, last = match["query"].split()  # words of the query as typed, nothing added; the last may be cut
    assert set(whole) <= set(query.split()) and any(word.startswith(last) for word in query.split())
    assert "\x00" not in match["query"]


def test_query_words_and_pages() -> None:
    body = search_body("  Quick   brown  * fox -", limit=5, offset=10)
    assert body is not None
    assert body["query"]["match"]["text"]["query"] == "Quick brown fox"
    assert (body["from"], body["size"], body["source"]) == (10, 5, False)
    assert body["sort"] == ["_score", {"id": "desc"}]
    assert search_body("* - :", limit=20, offset=0) is None
    assert search_body("word", limit=20, offset=MAX_RESULT_WINDOW) is None  # Elasticsearch would refuse the page
    assert search_body("word", limit=50, offset=MAX_RESULT_WINDOW - 10)["size"] == 10  # type: ignore[index]
    assert len(plain_words(" ".join(f"w{n}" for n in range(100))).split()) == 16


def test_index_templates() -> None:
    settings = ElasticsearchSettings.from_config({"ES_PREFIX": "social"})
    statuses = index_template(settings, "statuses")
    assert statuses["name"] == "social_statuses-template" and statuses["index_patterns"] == ["social_statuses"]
    template = statuses["template"]
    assert (template["settings"]["number_of_shards"], template["settings"]["number_of_replicas"]) == (1, 0)
    text = template["mappings"]["properties"]["text"]
    analyzer = template["settings"]["analysis"]["analyzer"][text["analyzer"]]
    assert analyzer["tokenizer"] == "standard"
    assert analyzer["filter"][:2] == ["lowercase", "asciifolding"]
    stemmer = template["settings"]["analysis"]["filter"][analyzer["filter"][2]]
    assert stemmer == {"type": "stemmer", "language": "light_english"}
    assert template["mappings"]["dynamic"] == "strict"

    accounts = index_template(settings, "accounts")["template"]
    text = accounts["mappings"]["properties"]["text"]
    analysis = accounts["settings"]["analysis"]
    indexed = [analysis["filter"].get(f, f) for f in analysis["analyzer"][text["analyzer"]]["filter"]]
    searched = [analysis["filter"].get(f, f) for f in analysis["analyzer"][text["search_analyzer"]]["filter"]]
    assert {"type": "edge_ngram", "min_gram": 1, "max_gram": 20} in indexed
    assert not any(isinstance(f, dict) and f["type"] == "edge_ngram" for f in searched)  # query words stay whole
    assert {"type": "truncate", "length": 20} in searched  # a longer query word still finds its 20-letter start

    large = ElasticsearchSettings.from_config({"ES_PRESET": "small_cluster"})
    assert index_template(large, "accounts")["template"]["settings"]["number_of_replicas"] == 1
    assert index_template(large, "accounts")["index_patterns"] == ["accounts"]  # no prefix: Mastodon's plain names


# ---------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("config", "url"),
    [
        ({}, "http://localhost:9200"),
        ({"ES_HOST": "es.internal"}, "http://es.internal:9200"),
        ({"ES_HOST": "es.internal", "ES_PORT": "9300"}, "http://es.internal:9300"),
        ({"ES_HOST": "https://es.example:443"}, "https://es.example:443"),
        ({"ES_HOST": "https://es.example/"}, "https://es.example:9200"),
        ({"ES_HOST": "[::1]"}, "http://[::1]:9200"),
    ],
)
def test_es_host_forms(config: dict[str, str], url: str) -> None:
    assert ElasticsearchSettings.from_config(config).url == url


def test_prefix_defaults_to_the_redis_namespace() -> None:
    assert ElasticsearchSettings.from_config({"REDIS_NAMESPACE": "mine"}).index_name("statuses") == "mine_statuses"
    chosen = ElasticsearchSettings.from_config({"REDIS_NAMESPACE": "mine", "ES_PREFIX": "es"})
    assert chosen.index_name("accounts") == "es_accounts"


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"ES_PORT": "http"}, "ES_PORT"),
        ({"ES_PORT": "70000"}, "ES_PORT"),
        ({"ES_HOST": "ftp://es"}, "ES_HOST"),
        ({"ES_HOST": "https://user:secret@es"}, "ES_USER and ES_PASS"),
        ({"ES_HOST": "es/some/path"}, "ES_HOST"),
        ({"ES_HOST": "es:port"}, "ES_HOST"),
        ({"ES_USER": "elastic"}, "ES_USER and ES_PASS"),
        ({"ES_PREFIX": "Bad Prefix"}, "ES_PREFIX"),
        ({"ES_PREFIX": "_hidden"}, "ES_PREFIX"),
        ({"ES_PRESET": "huge"}, "ES_PRESET"),
    ],
)
def test_config_errors_name_the_setting(config: dict[str, str], names: str, tmp_path: Path) -> None:
    with pytest.raises(StartupError, match=names) as caught:
        make_app({"SEARCH_BACKEND": "elasticsearch", **config}, data_dir=str(tmp_path), migrate=False)
    assert "secret" not in str(caught.value)


def test_es_enabled_chooses_the_backend_without_importing_or_connecting(tmp_path: Path) -> None:
    # Nothing listens on port 1: building the app must not need the server.
    app = make_app({"ES_ENABLED": "true", "ES_HOST": "127.0.0.1", "ES_PORT": "1"}, data_dir=str(tmp_path))
    try:
        state = app.extensions["fedikit"]
        assert state.search.settings.url == "http://127.0.0.1:1"
        assert state.search.kinds == {"statuses", "accounts"}
    finally:
        close_app(app)


# ---------------------------------------------------------------- the client speaking HTTP


def test_index_writes_templates_once_then_the_document(es: RecordingElasticsearch) -> None:
    index = backend(es)
    index.index("statuses", 5, "hello world")
    index.index("statuses", 6, "again")
    templates = es.of("PUT", "-template")
    assert sorted(r["path"] for r in templates) == [
        "/_index_template/t_accounts-template",
        "/_index_template/t_statuses-template",
    ]
    docs = es.of("PUT", "/_doc/5") + es.of("PUT", "/_doc/6")
    assert [d["path"] for d in docs] == ["/t_statuses/_doc/5", "/t_statuses/_doc/6"]
    assert docs[0]["body"] == {"id": 5, "text": "hello world"}
    assert "refresh" not in docs[0]["params"]  # only tests ask for a refresh on each write
    headers = docs[0]["headers"]
    assert headers["accept"].startswith(COMPATIBLE) and headers["content-type"].startswith(COMPATIBLE)
    assert "authorization" not in headers


def test_refresh_and_basic_auth(es: RecordingElasticsearch) -> None:
    index = backend(es, ES_REFRESH="true", ES_USER="elastic", ES_PASS="changeme")
    index.index("accounts", 1, "alice")
    index.remove("accounts", 1)
    put, delete = es.of("PUT", "/_doc/1")[0], es.of("DELETE", "/_doc/1")[0]
    assert put["params"]["refresh"] == "true" and delete["params"]["refresh"] == "true"
    assert put["headers"]["authorization"] == "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="


def test_remove_of_a_missing_document_is_fine(es: RecordingElasticsearch) -> None:
    backend(es).remove("statuses", 404)
    assert es.of("DELETE")[0]["path"] == "/t_statuses/_doc/404"


def test_search_sends_a_match_and_answers_ids(es: RecordingElasticsearch) -> None:
    es.hits = [3, 1]
    index = backend(es)
    assert index.search("statuses", 'cats OR "dogs" title:*', limit=5, offset=5) == [3, 1]
    request = es.of("POST", "/_search")[0]
    assert request["path"] == "/t_statuses/_search"
    assert request["params"]["ignore_unavailable"] == "true"  # no index yet: no hits, no error
    body = request["body"]
    assert body["query"] == {"match": {"text": {"query": 'cats OR "dogs" title:*', "operator": "and"}}}
    assert (body["from"], body["size"], body["_source"]) == (5, 5, False)
    assert index.search("accounts", "*** ---") == []
    assert len(es.of("POST", "/_search")) == 1  # a query without words costs no request
    with pytest.raises(ValueError, match="unknown search kind"):
        index.search("tags", "x")


def test_a_server_that_is_not_elasticsearch_is_refused(es: RecordingElasticsearch) -> None:
    from elasticsearch import UnsupportedProductError

    es.product = "Something"
    with pytest.raises(BackendError, match="not Elasticsearch") as caught:
        backend(es).search("statuses", "word")
    assert isinstance(caught.value.__cause__, UnsupportedProductError)


def test_bulk_index_sends_batches_and_reports_failures(es: RecordingElasticsearch) -> None:
    index = backend(es)
    assert index.bulk_index("statuses", [(n, f"text {n}") for n in range(1, 6)], chunk_size=2) == 5
    bulks = es.of("*", "/_bulk")
    assert [len(b["body"]) // 2 for b in bulks] == [2, 2, 1]
    assert bulks[0]["body"][:2] == [{"index": {"_index": "t_statuses", "_id": "1"}}, {"id": 1, "text": "text 1"}]
    assert bulks[0]["headers"]["content-type"].startswith("application/vnd.elasticsearch+x-ndjson")
    es.fail_ids = {"7"}
    with pytest.raises(BackendError, match="1 documents were not indexed"):
        index.bulk_index("statuses", [(6, "ok"), (7, "refused")])


# ---------------------------------------------------------------- fedikit search deploy


@pytest.fixture
def cli_env(tmp_path: Path, es: RecordingElasticsearch, database: dict[str, str]) -> dict[str, str]:
    """The command's environment, on SQLite and on PostgreSQL (core reads the documents)."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return {
        **database,
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_ENV_FILE": str(empty),
        "LOCAL_DOMAIN": "search.example",
        "SECRET_KEY_BASE": "search-test-secret",
        "ES_ENABLED": "true",
        "ES_HOST": es.url,
        "ES_PREFIX": "deploy",
    }


@pytest.fixture
def stored(cli_env: dict[str, str]) -> dict[str, list[int]]:
    """Five accounts and seven statuses (one a boost, which is not indexed), stored with the SQL index."""
    from fedikit.core.services import statuses
    from fedikit.core.services.accounts import create_local_account

    config = {k: v for k, v in cli_env.items() if not k.startswith("ES_") and k != "FEDIKIT_ENV_FILE"}
    app = make_app({**config, "SEARCH_BACKEND": "sql"}, data_dir=cli_env["FEDIKIT_DATA_DIR"])
    try:
        with app.app_context():
            people = [create_local_account(f"user{n}", f"u{n}@example.com", "pass phrase").account for n in range(5)]
            posts = [statuses.post(people[n % 5], f"post number {n}") for n in range(6)]
            statuses.reblog(people[1], posts[0])
            return {"accounts": [p.id for p in people], "statuses": [p.id for p in posts]}
    finally:
        close_app(app)


def deploy(env: dict[str, str], *args: str) -> Any:
    from fedikit.core.cli import cli

    return CliRunner().invoke(cli, ["search", "deploy", *args], env=env)


def bulk_ids(es: RecordingElasticsearch, index: str) -> list[list[int]]:
    return [
        [int(action["index"]["_id"]) for action in b["body"][::2]]
        for b in es.of("*", "/_bulk")
        if b["body"][0]["index"]["_index"] == index
    ]


def test_deploy_indexes_everything_in_batches(
    es: RecordingElasticsearch, cli_env: dict[str, str], stored: dict[str, list[int]]
) -> None:
    result = deploy(cli_env, "--batch-size", "4")
    assert result.exit_code == 0, result.output
    assert f"Elasticsearch at {es.url}" in result.output
    assert "deploy_accounts: index made anew, 5 accounts indexed" in result.output
    assert "deploy_statuses: index made anew, 6 statuses indexed" in result.output
    assert bulk_ids(es, "deploy_accounts") == [stored["accounts"][:4], stored["accounts"][4:]]
    assert bulk_ids(es, "deploy_statuses") == [stored["statuses"][:4], stored["statuses"][4:]]
    accounts = next(b["body"] for b in es.of("*", "/_bulk") if b["body"][0]["index"]["_index"] == "deploy_accounts")
    assert accounts[1]["text"].split()[0] == "user0"  # username, display name, domain: as core's indexing job
    last = es.of("*", "/_bulk")[-1]["body"]
    assert last[1] == {"id": stored["statuses"][4], "text": "post number 4"}
    assert {r["path"] for r in es.of("PUT", "-template")} == {
        "/_index_template/deploy_statuses-template",
        "/_index_template/deploy_accounts-template",
    }

    es.requests.clear()  # a finished deploy, run again, indexes everything again into the kept index
    again = deploy(cli_env, "--only", "statuses")
    assert "deploy_statuses: index kept, 6 statuses indexed" in again.output and "accounts" not in again.output
    assert not es.of("DELETE")


def test_deploy_resumes_after_the_last_batch_done(
    es: RecordingElasticsearch, cli_env: dict[str, str], stored: dict[str, list[int]]
) -> None:
    ids = stored["statuses"]
    es.fail_ids = {str(ids[3])}  # the second batch of two fails
    failed = deploy(cli_env, "--only", "statuses", "--batch-size", "2")
    assert failed.exit_code == 1
    assert "statuses: elasticsearch: 1 documents were not indexed" in failed.output
    assert "run the command again to continue" in failed.output
    progress = Path(cli_env["FEDIKIT_DATA_DIR"]) / "elasticsearch_search" / "deploy-deploy_statuses.json"
    assert json.loads(progress.read_text()) == {"last_id": ids[1], "done": False}

    es.fail_ids.clear()
    es.requests.clear()
    resumed = deploy(cli_env, "--only", "statuses", "--batch-size", "2")
    assert resumed.exit_code == 0, resumed.output
    assert f"index kept, 4 statuses indexed, resumed after id {ids[1]}" in resumed.output
    assert bulk_ids(es, "deploy_statuses") == [ids[2:4], ids[4:6]]
    assert json.loads(progress.read_text()) == {"last_id": ids[5], "done": True}

    es.requests.clear()
    reset = deploy(cli_env, "--only", "statuses", "--reset")
    assert "index made anew, 6 statuses indexed" in reset.output
    assert [r["path"] for r in es.of("DELETE")] == ["/deploy_statuses"]
    assert [r["path"] for r in es.of("PUT", "/deploy_statuses")] == ["/deploy_statuses"]


def test_deploy_with_another_search_backend_says_what_to_set(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if not k.startswith("ES_")}
    result = deploy(env)
    assert result.exit_code != 0
    assert "set ES_ENABLED=true (or SEARCH_BACKEND=elasticsearch)" in result.output


def test_deploy_options(cli_env: dict[str, str]) -> None:
    assert "--only" in deploy(cli_env, "--help").output
    assert deploy(cli_env, "--only", "tags").exit_code == 2
    assert deploy(cli_env, "--batch-size", "0").exit_code == 2


def test_an_unreachable_server_is_one_line_naming_it(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = {**cli_env, "ES_HOST": "http://127.0.0.1:1"}  # nothing listens on port 1
    result = deploy(env, "--only", "accounts")
    assert result.exit_code == 1
    assert "Error: accounts: elasticsearch at http://127.0.0.1:1: " in result.output
    assert "Traceback" not in result.output
    from fedikit.plugins.elasticsearch_search.index import ElasticsearchSearchIndex

    index = ElasticsearchSearchIndex(ElasticsearchSettings.from_config({"ES_HOST": "127.0.0.1", "ES_PORT": "1"}))
    with pytest.raises(BackendError, match="elasticsearch at http://127.0.0.1:1"):
        index.search("statuses", "word")
