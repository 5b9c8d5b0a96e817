"""One test per hook, written as a plugin author would use it."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Blueprint
from sqlalchemy import inspect as sa_inspect

from fedikit.core.db import db
from fedikit.core.models import Account
from fedikit.core.services import accounts, relationships, search, statuses, timelines
from fedikit.plugin_api import (
    BackendKind,
    PostDraft,
    Reject,
    RenderedContent,
    StartupError,
    hookimpl,
)
from fedikit.plugin_api.testing import make_app, record_hooks, register_plugin, settle


@pytest.fixture
def fedikit_config() -> dict[str, Any]:
    return {}  # hooks do not depend on the database; SQLite keeps this module quick


def person(username: str, **profile: Any) -> Account:
    account = accounts.create_local_account(
        username, f"{username}@example.com", "correct horse battery", confirmed=True
    ).account
    if profile:
        accounts.update_profile(account, **profile)
    return account


# ---------------------------------------------------------------- app


def test_hook_config_defaults(tmp_path: Path) -> None:
    class Plugin:
        name = "defaults"

        @hookimpl
        def config_defaults(self) -> dict[str, Any]:
            return {"GREETING": "hello", "MAX_STATUS_CHARS": "1000"}

    app = make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin()])
    assert app.config["GREETING"] == "hello"
    assert app.config["MAX_STATUS_CHARS"] == 1000  # defaults are parsed like any other value
    overridden = make_app({"FEDIKIT_DATA_DIR": str(tmp_path), "GREETING": "hi"}, plugins=[Plugin()], migrate=False)
    assert overridden.config["GREETING"] == "hi"


def test_config_defaults_that_disagree_stop_startup(tmp_path: Path) -> None:
    def plugin(value: str) -> object:
        class Plugin:
            name = f"defaults_{value}"

            @hookimpl
            def config_defaults(self) -> dict[str, Any]:
                return {"COLOUR": value}

        return Plugin()

    with pytest.raises(StartupError, match="COLOUR"):
        make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[plugin("red"), plugin("blue")], migrate=False)


def test_hook_validate_config(tmp_path: Path) -> None:
    seen = {}

    class Plugin:
        name = "validator"

        @hookimpl
        def validate_config(self, config: Any) -> None:
            seen.update(config)
            if config.get("WIDGETS") == "many":
                raise StartupError("WIDGETS: must be a number")

    make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin()], migrate=False)
    assert seen["LOCAL_DOMAIN"] == "fedikit.test"
    with pytest.raises(StartupError, match="WIDGETS: must be a number"):
        make_app({"FEDIKIT_DATA_DIR": str(tmp_path), "WIDGETS": "many"}, plugins=[Plugin()], migrate=False)


def test_hook_register_blueprints(tmp_path: Path) -> None:
    bp = Blueprint("hello", __name__)
    bp.add_url_rule("/hello", "hello", lambda: "hello from a plugin")

    class Plugin:
        name = "blueprints"

        @hookimpl
        def register_blueprints(self) -> list[Blueprint]:
            return [bp]

    app = make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin()], migrate=False)
    assert app.test_client().get("/hello").text == "hello from a plugin"


def test_hook_register_commands(tmp_path: Path) -> None:
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    (plugins_dir / "greeter.py").write_text(
        textwrap.dedent(
            """
            import click
            from flask import current_app
            from fedikit.plugin_api import hookimpl

            @hookimpl
            def register_commands(cli):
                @cli.command()
                @click.argument("name")
                def greet(name):
                    '''Say hello from the instance.'''
                    click.echo(f"hello {name} from {current_app.config['LOCAL_DOMAIN']}")
            """
        )
    )
    from fedikit.core.cli import cli

    env = {
        "FEDIKIT_DATA_DIR": str(tmp_path / "data"),
        "FEDIKIT_PLUGINS_DIR": str(plugins_dir),
        "LOCAL_DOMAIN": "greet.example",
        "FEDIKIT_ENV_FILE": str(tmp_path / "none.env"),
    }
    (tmp_path / "none.env").write_text("")
    result = CliRunner().invoke(cli, ["greet", "ann"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello ann from greet.example"
    listing = CliRunner().invoke(cli, ["--help"], env=env)
    assert "greet" in listing.output and "accounts" in listing.output


def test_hook_register_migrations(tmp_path: Path) -> None:
    class Plugin:
        name = "hooktest"

        @hookimpl
        def register_migrations(self) -> Path:
            return Path(__file__).parent / "hook_migrations"

    app = make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin()])
    with app.app_context():
        tables = sa_inspect(db.engine).get_table_names()
    assert "hooktest_notes" in tables and "accounts" in tables


def test_hook_register_jobs(tmp_path: Path) -> None:
    done: list[int] = []

    class Plugin:
        name = "thumbnails"

        @hookimpl
        def register_jobs(self) -> dict[str, Any]:
            return {"thumbnails.make": lambda media_id: done.append(media_id)}

    app = make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin()])
    with app.app_context():
        from fedikit.core.jobs import enqueue

        enqueue("thumbnails.make", media_id=7)
        settle(app)
    assert done == [7]

    class Clash:
        name = "clash"

        @hookimpl
        def register_jobs(self) -> dict[str, Any]:
            return {"thumbnails.make": print}

    with pytest.raises(StartupError, match="both register job 'thumbnails.make'"):
        make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin(), Clash()], migrate=False)


def test_hook_startup(tmp_path: Path) -> None:
    started = []

    class Plugin:
        name = "starter"

        @hookimpl
        def startup(self, app: Any) -> None:
            started.append(sorted(app.extensions["fedikit"].backends))  # backends exist by now
            if app.config.get("REFUSE"):
                raise StartupError("REFUSE: this plugin will not start")

    make_app({"FEDIKIT_DATA_DIR": str(tmp_path)}, plugins=[Plugin()], migrate=False)
    assert started == [sorted(BackendKind)]
    with pytest.raises(StartupError, match="REFUSE"):
        make_app({"FEDIKIT_DATA_DIR": str(tmp_path), "REFUSE": "1"}, plugins=[Plugin()], migrate=False)


# ---------------------------------------------------------------- storage


def test_hook_register_backends(tmp_path: Path) -> None:
    class Index:
        kinds = frozenset({"statuses"})

        def __init__(self) -> None:
            self.docs: dict[int, str] = {}

        def index(self, kind: str, id: int, text: str) -> None:
            self.docs[id] = text

        def remove(self, kind: str, id: int) -> None:
            self.docs.pop(id, None)

        def search(self, kind: str, query: str, *, limit: int = 20, offset: int = 0) -> list[int]:
            return [i for i, text in sorted(self.docs.items(), reverse=True) if query in text][offset : offset + limit]

    class Plugin:
        name = "grep_search"

        @hookimpl
        def register_backends(self, registry: Any) -> None:
            registry.add(BackendKind.SEARCH, "grep", lambda context: Index(), description="substring search")

    app = make_app({"FEDIKIT_DATA_DIR": str(tmp_path), "SEARCH_BACKEND": "grep"}, plugins=[Plugin()])
    with app.app_context():
        state = app.extensions["fedikit"]
        assert state.choices[BackendKind.SEARCH].offer.plugin == "grep_search"
        author = person("alice")
        status = statuses.post(author, "needle in a haystack")
        settle(app)
        assert [s.id for s in search.statuses(author, "needle")] == [status.id]


# ---------------------------------------------------------------- content and moderation


def test_hook_render_status_html(fedikit_app: Any) -> None:
    class Shouting:
        @hookimpl
        def render_status_html(self, text: str, context: Any) -> RenderedContent | None:
            if not text.startswith("!"):
                return None  # leave it to the next renderer
            return RenderedContent(html=f"<p><strong>{text[1:].upper()}</strong><script>x()</script></p>")

    author = person("alice")
    with register_plugin(fedikit_app, Shouting()):
        loud = statuses.post(author, "!hello")
        quiet = statuses.post(author, "hello")
    assert loud.content == "<p><strong>HELLO</strong></p>"  # still sanitised
    assert quiet.content == "<p>hello</p>"


def test_hook_register_moderation_filters(tmp_path: Path) -> None:
    @dataclasses.dataclass
    class Words:
        name: str
        words: tuple[str, ...]
        reject: bool
        seen: list[str] = dataclasses.field(default_factory=list)

        def check(self, draft: PostDraft) -> PostDraft | None:
            self.seen.append(self.name)
            if any(w in draft.text for w in self.words):
                if self.reject:
                    raise Reject(f"{self.name} refuses this")
                return dataclasses.replace(draft, sensitive=True, spoiler_text="flagged")
            return None

    spoilers = Words("spoilers", ("ending",), reject=False)
    spam = Words("spam", ("casino",), reject=True)

    class Plugin:
        name = "filters"

        @hookimpl
        def register_moderation_filters(self) -> list[Words]:
            return [spoilers, spam]

    app = make_app({"FEDIKIT_DATA_DIR": str(tmp_path), "MODERATION_FILTERS": "spam,spoilers"}, plugins=[Plugin()])
    with app.app_context():
        author = person("alice")
        flagged = statuses.post(author, "the ending was great")
        assert (flagged.sensitive, flagged.spoiler_text) == (True, "flagged")
        assert spam.seen == ["spam"] and spoilers.seen == ["spoilers"]  # spam first, as configured
        with pytest.raises(Reject, match="spam refuses this"):
            statuses.post(author, "casino bonus")
        assert author.statuses_count == 1  # the rejected post was not stored
    with pytest.raises(StartupError, match="MODERATION_FILTERS: no filter named 'nope'"):
        make_app({"FEDIKIT_DATA_DIR": str(tmp_path), "MODERATION_FILTERS": "nope"}, plugins=[Plugin()], migrate=False)


# ---------------------------------------------------------------- auth


def test_hook_authenticate(fedikit_app: Any) -> None:
    class Directory:
        @hookimpl
        def authenticate(self, identifier: str, password: str) -> Any:
            if identifier == "staff-id-7" and password == "from the directory":
                return accounts.find_user("carol")
            return None

    person("carol")
    client = fedikit_app.test_client()
    hook = fedikit_app.extensions["fedikit"].hook
    assert (
        hook.authenticate(identifier="carol@example.com", password="correct horse battery").email == "carol@example.com"
    )
    assert hook.authenticate(identifier="carol", password="wrong") is None
    with register_plugin(fedikit_app, Directory()):
        assert hook.authenticate(identifier="staff-id-7", password="from the directory").account.username == "carol"
        client.get("/auth/sign_in")
        with client.session_transaction() as session:
            csrf = session["csrf"]
        response = client.post(
            "/auth/sign_in", data={"email": "staff-id-7", "password": "from the directory", "csrf": csrf}
        )
        assert response.status_code == 302
        assert "Signed in as <strong>@carol</strong>" in client.get("/").text


# ---------------------------------------------------------------- timelines


def test_hook_timeline_admit(fedikit_app: Any) -> None:
    class NoBots:
        @hookimpl
        def timeline_admit(self, timeline: str, status: Any, viewer: Any) -> bool | None:
            return False if status.account.bot and timeline == "public" else None

    human, bot = person("human"), person("robot", bot=True)
    by_human = statuses.post(human, "hello")
    by_bot = statuses.post(bot, "beep")
    assert {s.id for s in timelines.public(None)} == {by_human.id, by_bot.id}
    with register_plugin(fedikit_app, NoBots()), record_hooks(fedikit_app) as recorder:
        assert [s.id for s in timelines.public(None)] == [by_human.id]
        relationships.follow(human, bot)
        assert by_bot.id in {s.id for s in timelines.home(human)}  # other timelines untouched
    assert {call.kwargs["timeline"] for call in recorder.of("timeline_admit")} == {"public", "home"}


def test_a_failing_timeline_policy_is_ignored(fedikit_app: Any, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        @hookimpl
        def timeline_admit(self, timeline: str, status: Any, viewer: Any) -> bool | None:
            raise RuntimeError("policy bug")

    status = statuses.post(person("alice"), "still shown")
    with register_plugin(fedikit_app, Broken(), name="broken_policy"):
        assert [s.id for s in timelines.public(None)] == [status.id]
    assert "plugin 'broken_policy' failed answering timeline_admit" in caplog.text


# ---------------------------------------------------------------- protocol: resolving remote things


def test_hook_resolve_account(fedikit_app: Any) -> None:
    class Resolver:
        def __init__(self) -> None:
            self.asked: list[str] = []

        @hookimpl
        def resolve_account(self, acct: str) -> Any:
            self.asked.append(acct)
            username, _, domain = acct.partition("@")
            if domain != "remote.example":
                return None
            account = Account(username=username, domain=domain, uri=f"https://{domain}/users/{username}")
            db.session.add(account)
            db.session.commit()
            return account

    resolver = Resolver()
    with register_plugin(fedikit_app, resolver):
        found = accounts.resolve("@Bob@Remote.Example")
        assert found is not None and found.acct == "Bob@remote.example"
        assert accounts.resolve("bob@remote.example").id == found.id  # now stored: not asked again
        assert accounts.resolve("nobody@elsewhere.example") is None
        status = statuses.post(person("alice"), "hi @Bob@remote.example and @nobody@elsewhere.example")
    assert resolver.asked == ["Bob@remote.example", "nobody@elsewhere.example", "nobody@elsewhere.example"]
    assert [m.account_id for m in status.mentions] == [found.id]


def test_hook_resolve_object(fedikit_app: Any) -> None:
    author = person("alice")
    local = statuses.post(author, "stored here")

    class Resolver:
        @hookimpl
        def resolve_object(self, url: str) -> Any:
            if url == "https://remote.example/users/zed":
                account = Account(username="zed", domain="remote.example", uri=url)
                db.session.add(account)
                db.session.commit()
                return account
            return None

    with register_plugin(fedikit_app, Resolver()), record_hooks(fedikit_app) as recorder:
        assert search.resolve_url(local.uri, author).id == local.id
        assert search.resolve_url("https://remote.example/users/zed").acct == "zed@remote.example"
        assert search.resolve_url("https://remote.example/nothing") is None
    assert [c.kwargs["url"] for c in recorder.of("resolve_object")] == [
        "https://remote.example/users/zed",
        "https://remote.example/nothing",
    ]
