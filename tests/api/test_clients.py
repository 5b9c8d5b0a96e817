"""A real client against a real server: Mastodon.py talking to ``fedikit serve`` over HTTP.

Each test reads like a user's session in an app: sign in (password grant, or the
authorization-code flow through the real sign-in and consent pages), then post,
follow, boost, vote, edit, filter and search. One server serves the whole module,
so every test signs up its own people. The server's sign-in limits are raised
(``RATE_LIMITS``): all of them come from one address.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

mastodon = pytest.importorskip("mastodon")
requests = pytest.importorskip("requests")  # Mastodon.py's own HTTP library: the "browser" below
Image = pytest.importorskip("PIL.Image")
pytestmark = pytest.mark.slow

SCOPES = ["read", "write", "follow"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, base_url: str, env: dict[str, str]) -> None:
        self.base_url = base_url
        self.env = env

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fedikit", *args], env=self.env, capture_output=True, text=True, check=True
        )
        return result.stdout

    def create_user(self, username: str) -> tuple[str, str]:
        email = f"{username}@example.com"
        output = self.cli("accounts", "create", username, "--email", email, "--confirmed")
        return email, re.search(r"New password: (\S+)", output).group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("served")
    (folder / "empty.env").write_text("")
    port = _free_port()
    env = {
        **os.environ,
        "FEDIKIT_DATA_DIR": str(folder / "data"),
        "FEDIKIT_ENV_FILE": str(folder / "empty.env"),
        "LOCAL_DOMAIN": f"127.0.0.1:{port}",
        "LOCAL_HTTPS": "false",
        "SECRET_KEY_BASE": "client-test",
        # Every sign-in here comes from 127.0.0.1, and the module signs in more people than Mastodon's
        # 25 per 5 minutes per address allow; the limits themselves are tested in tests/core/test_ratelimit.py.
        "RATE_LIMITS": "sign_in_ip=1000/300,sign_in_login=1000/3600",
        "STREAMING_HEARTBEAT": "2",  # a closed stream notices at the next heartbeat
    }
    subprocess.run([sys.executable, "-m", "fedikit", "db", "upgrade"], env=env, check=True, capture_output=True)
    log = (folder / "server.log").open("wb")  # the access log and any traceback, for a failing test
    process = subprocess.Popen(
        [sys.executable, "-m", "fedikit", "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise
            time.sleep(0.1)
    try:
        yield Server(base, env)
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _client(server: Server, username: str) -> Any:
    client_id, client_secret = mastodon.Mastodon.create_app(
        "fedikit tests", scopes=SCOPES, api_base_url=server.base_url
    )
    api = mastodon.Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=server.base_url, ratelimit_method="throw"
    )  # a 429 fails the test at once instead of sleeping until the window resets
    email, password = server.create_user(username)
    api.log_in(email, password, scopes=SCOPES, allow_http=True)  # plain http on loopback
    return api


def _anonymous(server: Server) -> Any:
    return mastodon.Mastodon(api_base_url=server.base_url, ratelimit_method="throw")


class _Form(HTMLParser):
    """The first form on a page, read as a browser would: where it posts, its hidden fields and its buttons."""

    def __init__(self, page: Any) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self._state = "before"
        self.feed(page.text)
        assert self._state != "before", f"no form on {page.url}"
        self.url = urljoin(page.url, self.action or "")  # a form without an action posts back to its page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and self._state == "before":
            self._state, self.action = "inside", attributes.get("action")
        elif self._state != "inside":
            return
        elif tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" and attributes.get("type", "submit") == "submit":
            self.buttons.append((attributes.get("name", ""), attributes.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._state == "inside":
            self._state = "after"


@contextlib.contextmanager
def _redirect_listener() -> Iterator[tuple[str, list[dict[str, list[str]]]]]:
    """The app's end of the redirect: a tiny web server on loopback, as desktop apps run to catch the code."""
    received: list[dict[str, list[str]]] = []

    class Callback(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            received.append(parse_qs(urlsplit(self.path).query))
            body = b"Signed in; you can close this window."
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    listener = HTTPServer(("127.0.0.1", 0), Callback)
    thread = threading.Thread(target=listener.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.server_port}/callback", received
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=5)


def _png(width: int, height: int) -> bytes:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _image_size(url: str) -> tuple[str, tuple[int, int]]:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    return response.headers["Content-Type"], Image.open(io.BytesIO(response.content)).size


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_password_login_post_and_read(server: Server) -> None:
    alice = _client(server, "alice")
    me = alice.account_verify_credentials()
    assert me.username == "alice" and me.acct == "alice"

    posted = alice.status_post("Hello from a real client #fedikit", spoiler_text="greetings")
    assert posted.spoiler_text == "greetings" and posted.sensitive is True
    assert "#<span>fedikit</span>" in posted.content
    reply = alice.status_post("a reply", in_reply_to_id=posted.id)
    context = alice.status_context(posted.id)
    assert [s.id for s in context.descendants] == [reply.id]

    home = alice.timeline_home()
    assert [s.id for s in home][:2] == [reply.id, posted.id]
    assert [s.id for s in alice.timeline_public(local=True)][:2] == [reply.id, posted.id]


def test_follow_boost_favourite_and_paginate(server: Server) -> None:
    bob = _client(server, "bob")
    carol = _client(server, "carol")
    carol_account = carol.account_verify_credentials()
    relationship = bob.account_follow(carol_account.id)
    assert relationship.following is True

    posts = [carol.status_post(f"post {n}", visibility="private") for n in range(5)]
    favourited = bob.status_favourite(posts[0].id)
    assert favourited.favourited is True and favourited.favourites_count == 1
    with pytest.raises(mastodon.MastodonAPIError):
        bob.status_reblog(posts[1].id)  # followers-only posts of others cannot be boosted
    public = carol.status_post("boost this")
    boost = bob.status_reblog(public.id)
    assert boost.reblog.id == public.id and boost.reblog.reblogged is True

    first_page = bob.timeline_home(limit=2)
    second_page = bob.fetch_next(first_page)
    assert len(first_page) == 2 and len(second_page) == 2
    assert first_page[-1].id > second_page[0].id

    bob.account_unfollow(carol_account.id)
    assert all(s.account.id != carol_account.id for s in bob.timeline_home())

    deleted = carol.status_delete(posts[4].id)
    assert deleted.text == "post 4"
    with pytest.raises(mastodon.MastodonNotFoundError):
        bob.status(posts[3].id)  # followers-only, and bob no longer follows


def test_authorization_code_login_through_the_sign_in_and_consent_pages(server: Server) -> None:
    email, password = server.create_user("dora")
    browser = requests.Session()  # keeps the session cookie, as a browser does
    with _redirect_listener() as (redirect_uri, received):
        client_id, client_secret = mastodon.Mastodon.create_app(
            "Dora app", scopes=SCOPES, redirect_uris=redirect_uri, api_base_url=server.base_url
        )
        app = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url)
        url = app.auth_request_url(redirect_uris=redirect_uri, scopes=SCOPES, state="k9ZqT", allow_http=True)
        assert url.startswith(f"{server.base_url}/oauth/authorize?")  # from /.well-known/oauth-authorization-server

        page = browser.get(url)
        assert page.status_code == 200 and urlsplit(page.url).path == "/auth/sign_in"  # not signed in yet
        sign_in = _Form(page)
        assert sign_in.fields["csrf"]
        refused = requests.post(sign_in.url, data={"email": email, "password": password}, timeout=10)
        assert refused.status_code == 422  # no session, no CSRF token: refused even with the right password
        page = browser.post(sign_in.url, data={**sign_in.fields, "email": email, "password": password})
        assert page.status_code == 200 and urlsplit(page.url).path == "/oauth/authorize"
        assert "Authorize Dora app" in page.text and "@dora" in page.text

        consent = _Form(page)
        assert ("decision", "approve") in consent.buttons and ("decision", "deny") in consent.buttons
        page = browser.post(consent.url, data={**consent.fields, "decision": "approve"})
        assert page.status_code == 200 and page.url.startswith(f"{redirect_uri}?")  # the browser landed on the app
        [query] = received
        assert query["state"] == ["k9ZqT"]

        token = app.log_in(code=query["code"][0], redirect_uri=redirect_uri, scopes=SCOPES, allow_http=True)
        assert token and app.account_verify_credentials().username == "dora"
        assert app.app_verify_credentials().name == "Dora app"
        spent = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url)
        with pytest.raises(mastodon.MastodonIllegalArgumentError, match="invalid_grant"):  # a code works once
            spent.log_in(code=query["code"][0], redirect_uri=redirect_uri, scopes=SCOPES, allow_http=True)

        # Still signed in: the consent page comes straight away; denying sends the app an error instead of a code.
        page = browser.get(app.auth_request_url(redirect_uris=redirect_uri, scopes=SCOPES, allow_http=True))
        assert urlsplit(page.url).path == "/oauth/authorize"
        consent = _Form(page)
        browser.post(consent.url, data={**consent.fields, "decision": "deny"})
        assert received[-1]["error"] == ["access_denied"] and "code" not in received[-1]

    # Out of band: no redirect, the page shows the code for the person to paste into the app.
    client_id, client_secret = mastodon.Mastodon.create_app("Dora CLI", scopes=SCOPES, api_base_url=server.base_url)
    cli = mastodon.Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server.base_url)
    page = browser.get(cli.auth_request_url(scopes=SCOPES, allow_http=True))
    consent = _Form(page)
    page = browser.post(consent.url, data={**consent.fields, "decision": "approve"})
    code = re.search(r'id="code" readonly value="([^"]+)"', page.text).group(1)
    cli_token = cli.log_in(code=code, scopes=SCOPES, allow_http=True)
    assert cli.account_verify_credentials().username == "dora"
    cli.revoke_access_token(allow_http=True)
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        mastodon.Mastodon(access_token=cli_token, api_base_url=server.base_url).account_verify_credentials()
    assert app.account_verify_credentials().username == "dora"  # the other app's token is untouched


def test_image_post_behind_a_content_warning(server: Server) -> None:
    frida = _client(server, "frida")
    upload = frida.media_post(_png(1200, 900), mime_type="image/png", description="a grey gradient", focus=(0.5, -0.25))
    media = upload if upload.url else frida.media(upload.id)
    assert media.type == "image" and media.description == "a grey gradient" and media.url
    assert (media.meta.original.width, media.meta.original.height) == (1200, 900)
    assert (media.meta.focus.x, media.meta.focus.y) == (0.5, -0.25)

    posted = frida.status_post("my new wallpaper", media_ids=[media], spoiler_text="bright light", sensitive=True)
    assert posted.spoiler_text == "bright light" and posted.sensitive is True
    [attached] = _anonymous(server).status(posted.id).media_attachments  # as anybody sees it
    assert attached.id == media.id and attached.blurhash

    content_type, size = _image_size(attached.url)
    assert content_type.startswith("image/") and size == (1200, 900)
    content_type, size = _image_size(attached.preview_url)
    assert content_type.startswith("image/") and size == (attached.meta.small.width, attached.meta.small.height)
    assert size[0] < 1200 and size[1] < 900 and abs(size[0] / size[1] - 4 / 3) < 0.02  # shrunk, same shape

    frida.status_post("and a post without pictures")
    assert [s.id for s in frida.account_statuses(frida.me().id, only_media=True)] == [posted.id]


def test_reply_boost_favourite_bookmark_and_notifications(server: Server) -> None:
    gus, hana = _client(server, "gus"), _client(server, "hana")
    gus_account = gus.me()
    assert hana.account_follow(gus_account.id).following is True
    assert hana.account_relationships(gus_account.id)[0].following is True

    original = gus.status_post("Who else grows #Gardening tomatoes?")
    reply = hana.status_reply(original, "me! mine are ripe")  # Mastodon.py adds the @gus mention
    assert reply.in_reply_to_id == original.id and reply.in_reply_to_account_id == gus_account.id
    assert [m.acct for m in reply.mentions] == ["gus"] and _text(reply.content).startswith("@gus")
    boost = hana.status_reblog(original.id)
    assert boost.reblog.id == original.id and boost.reblog.reblogged is True
    assert hana.status_favourite(original.id).favourited is True
    assert hana.status_bookmark(original.id).bookmarked is True

    assert [s.id for s in hana.bookmarks()] == [original.id]
    assert [s.id for s in hana.favourites()] == [original.id]
    seen = gus.status(original.id)
    assert (seen.replies_count, seen.reblogs_count, seen.favourites_count) == (1, 1, 1)
    assert [a.acct for a in gus.status_reblogged_by(original.id)] == ["hana"]
    assert [a.acct for a in gus.status_favourited_by(original.id)] == ["hana"]
    assert [s.id for s in gus.status_context(original.id).descendants] == [reply.id]
    assert [s.id for s in gus.status_context(reply.id).ancestors] == [original.id]

    notifications = gus.notifications()
    assert [(n.type, n.account.acct) for n in notifications] == [
        ("favourite", "hana"),
        ("reblog", "hana"),
        ("mention", "hana"),
        ("follow", "hana"),
    ]
    assert [n.status.id for n in notifications[:3]] == [original.id, original.id, reply.id]
    assert [n.type for n in gus.notifications(types=["mention"])] == ["mention"]
    assert [n.type for n in gus.notifications(exclude_types=["favourite", "reblog"])] == ["mention", "follow"]

    assert hana.status_unbookmark(original.id).bookmarked is False and hana.bookmarks() == []
    assert hana.status_unfavourite(original.id).favourited is False

    gus.status_update(original.id, "Who else grows #Gardening tomatoes? (and basil)")
    [updated] = hana.notifications(types=["update"])  # people who boosted a post hear that it changed
    assert updated.status.id == original.id and _text(updated.status.content).endswith("(and basil)")

    home = [s.id for s in hana.timeline_home()]
    assert reply.id in home and original.id in home  # followed author, own reply
    assert [s.id for s in hana.timeline_hashtag("gardening")] == [original.id]  # tags match case-insensitively
    public = [s.id for s in _anonymous(server).timeline_public(local=True)]
    assert public.index(reply.id) < public.index(original.id) and boost.id not in public  # no boosts, as Mastodon
    assert [s.id for s in _anonymous(server).account_statuses(gus_account.id)] == [original.id]


def test_poll_votes_and_results(server: Server) -> None:
    ivy, jack = _client(server, "ivy"), _client(server, "jack")
    asked = ivy.status_post("Tea or coffee?", poll=ivy.make_poll(["tea", "coffee", "water"], expires_in=3600))
    poll = asked.poll
    assert [o.title for o in poll.options] == ["tea", "coffee", "water"]
    assert (poll.multiple, poll.expired, poll.votes_count) == (False, False, 0) and poll.expires_at is not None

    voted = jack.poll_vote(poll.id, 1)
    assert (voted.voted, voted.own_votes, voted.votes_count, voted.voters_count) == (True, [1], 1, 1)
    assert [o.votes_count for o in voted.options] == [0, 1, 0]
    with pytest.raises(mastodon.MastodonAPIError):
        jack.poll_vote(poll.id, 0)  # one vote per person in a single-choice poll
    results = ivy.poll(poll.id)
    assert results.votes_count == 1 and [o.votes_count for o in results.options] == [0, 1, 0]
    assert (results.voted, results.own_votes) == (True, [])  # as Mastodon: the author counts as having voted
    assert jack.status(asked.id).poll.own_votes == [1]

    several = ivy.status_post("Toppings?", poll=ivy.make_poll(["basil", "olives", "chili"], 600, multiple=True))
    voted = jack.poll_vote(several.poll.id, [0, 2])
    assert (voted.multiple, voted.own_votes, voted.votes_count, voted.voters_count) == (True, [0, 2], 2, 1)
    assert [o.votes_count for o in ivy.poll(several.poll.id).options] == [1, 0, 1]


def test_edit_and_history(server: Server) -> None:
    kim = _client(server, "kim")
    posted = kim.status_post("teh first draft", spoiler_text="typo")
    assert posted.edited_at is None
    edited = kim.status_update(posted.id, "the first draft", spoiler_text="fixed")
    assert edited.id == posted.id and edited.edited_at is not None
    assert _text(edited.content) == "the first draft" and edited.spoiler_text == "fixed"
    history = kim.status_history(posted.id)
    assert [(_text(h.content), h.spoiler_text) for h in history] == [
        ("teh first draft", "typo"),
        ("the first draft", "fixed"),
    ]
    assert history[0].created_at <= history[1].created_at and history[1].account.acct == "kim"
    source = kim.status_source(posted.id)
    assert (source.text, source.spoiler_text) == ("the first draft", "fixed")
    assert _text(_anonymous(server).status(posted.id).content) == "the first draft"


def test_lists(server: Server) -> None:
    luis, mia = _client(server, "luis"), _client(server, "mia")
    mia_account = mia.me()
    luis.account_follow(mia_account.id)
    friends = luis.list_create("friends")
    assert (friends.title, friends.replies_policy, friends.exclusive) == ("friends", "list", False)
    luis.list_accounts_add(friends.id, [mia_account.id])
    assert [a.id for a in luis.list_accounts(friends.id)] == [mia_account.id]
    assert [lst.id for lst in luis.account_lists(mia_account.id)] == [friends.id]

    hello = mia.status_post("hello, list")
    assert [s.id for s in luis.timeline_list(friends.id)] == [hello.id]
    assert luis.list_update(friends.id, "close friends").title == "close friends"
    assert [lst.title for lst in luis.lists()] == ["close friends"]

    assert hello.id in [s.id for s in luis.timeline_home()]
    luis.list_update(friends.id, "close friends", exclusive=True)  # their posts now show in the list only
    assert hello.id not in [s.id for s in luis.timeline_home()]
    assert [s.id for s in luis.timeline_list(friends.id)] == [hello.id]

    luis.list_accounts_delete(friends.id, [mia_account.id])
    assert luis.list_accounts(friends.id) == [] and luis.timeline_list(friends.id) == []
    assert hello.id in [s.id for s in luis.timeline_home()]
    luis.list_delete(friends.id)
    with pytest.raises(mastodon.MastodonNotFoundError):
        luis.list(friends.id)


def test_filters_v2_warn_and_hide(server: Server) -> None:
    nina, otto = _client(server, "nina"), _client(server, "otto")
    nina.account_follow(otto.me().id)
    warn = nina.create_filter_v2(
        "Spoilers", ["home"], "warn", keywords_attributes=[{"keyword": "finale", "whole_word": True}]
    )
    hide = nina.create_filter_v2(
        "Politics", ["home", "public"], "hide", keywords_attributes=[{"keyword": "election", "whole_word": False}]
    )
    assert (warn.filter_action, [k.keyword for k in warn.keywords]) == ("warn", ["finale"])
    assert sorted(f.title for f in nina.filters_v2()) == ["Politics", "Spoilers"]
    assert [k.keyword for k in nina.filter_keywords_v2(hide.id)] == ["election"]

    spoiler = otto.status_post("that Finale was wild")
    politics = otto.status_post("elections tomorrow")
    plain = otto.status_post("nice weather")
    home = {s.id: s for s in nina.timeline_home()}
    [warned] = home[spoiler.id].filtered
    assert (warned.filter.id, warned.filter.filter_action, warned.keyword_matches) == (warn.id, "warn", ["Finale"])
    [hidden] = home[politics.id].filtered
    assert (hidden.filter.id, hidden.filter.filter_action, hidden.keyword_matches) == (hide.id, "hide", ["election"])
    assert home[plain.id].filtered == []
    assert all(s.filtered == [] for s in otto.timeline_home())  # filters are nina's own

    # What an app shows (Mastodon's web app): "hide" results are dropped, "warn" ones put behind their title.
    shown = [s.id for s in nina.timeline_home() if not any(r.filter.filter_action == "hide" for r in s.filtered)]
    assert spoiler.id in shown and plain.id in shown and politics.id not in shown

    nina.delete_filter_v2(hide.id)
    assert nina.status(politics.id).filtered == []
    assert [f.id for f in nina.filters_v2()] == [warn.id]

    # A filter can also name single posts.
    nina.add_filter_status_v2(warn.id, plain.id)
    [by_id] = nina.status(plain.id).filtered
    assert (by_id.filter.id, by_id.status_matches, by_id.keyword_matches) == (warn.id, [plain.id], None)


def test_search_accounts_hashtags_and_statuses(server: Server) -> None:
    pia, quinn = _client(server, "pia"), _client(server, "quinn")
    quinn_account = quinn.me()
    posted = quinn.status_post("My sourdough starter is alive #BreadMaking")

    assert [a.id for a in pia.search_v2("quinn").accounts] == [quinn_account.id]
    assert [a.id for a in pia.search_v2("@quinn", result_type="accounts").accounts] == [quinn_account.id]
    tags = pia.search_v2("#breadmaking").hashtags
    assert [t.name.lower() for t in tags] == ["breadmaking"] and tags[0].url.endswith("/tags/breadmaking")
    assert [s.id for s in pia.search_v2("sourdough", result_type="statuses").statuses] == [posted.id]
    assert [s.id for s in pia.search_v2(posted.url).statuses] == [posted.id]  # a status's own URL finds it
    nothing = pia.search_v2("zzzz-no-such-thing")
    assert (nothing.accounts, nothing.hashtags, nothing.statuses) == ([], [], [])


def test_paginate_with_link_headers(server: Server) -> None:
    rosa, sam = _client(server, "rosa"), _client(server, "sam")
    posts = [rosa.status_post(f"note {n}") for n in range(5)]
    for status in posts:
        sam.status_favourite(status.id)

    first = rosa.notifications(limit=2)
    pages = [first, rosa.fetch_next(first)]
    pages.append(rosa.fetch_next(pages[-1]))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [n.status.id for p in pages for n in p] == [s.id for s in reversed(posts)]
    assert rosa.fetch_next(pages[-1]) in (None, [])
    assert [n.id for n in rosa.fetch_previous(pages[1])] == [n.id for n in first]

    statuses = rosa.account_statuses(rosa.me().id, limit=2)
    assert [s.id for s in rosa.fetch_remaining(statuses)] == [s.id for s in reversed(posts)]
    favourites = sam.favourites(limit=3)
    assert len(favourites) == 3 and len(sam.fetch_next(favourites)) == 2


def test_streaming_over_server_sent_events_with_mastodon_py(server: Server) -> None:
    tara, uma = _client(server, "tara"), _client(server, "uma")
    tara.account_follow(uma.me().id)
    received: list[tuple[str, Any]] = []
    arrived = threading.Event()

    class Listener(mastodon.StreamListener):
        def on_update(self, status: Any) -> None:
            received.append(("update", status.content))
            arrived.set()

        def on_notification(self, notification: Any) -> None:
            received.append(("notification", notification.type))
            arrived.set()

        def on_delete(self, status_id: Any) -> None:
            received.append(("delete", str(status_id)))
            arrived.set()

    handle = tara.stream_user(Listener(), run_async=True, reconnect_async=False)
    try:
        _eventually(lambda: handle.is_receiving())
        posted = uma.status_post("live from uma")
        _eventually(lambda: ("update", "<p>live from uma</p>") in received)
        uma.status_favourite(tara.status_post("tara's own").id)
        _eventually(lambda: ("notification", "favourite") in received)
        uma.status_delete(posted.id)
        _eventually(lambda: ("delete", str(posted.id)) in received)
    finally:
        handle.close()


def test_streaming_over_a_websocket(server: Server) -> None:
    websocket = pytest.importorskip("websocket")
    vic, wes = _client(server, "vic"), _client(server, "wes")
    vic.account_follow(wes.me().id)
    url = server.base_url.replace("http://", "ws://") + "/api/v1/streaming"
    # The token as the subprotocol (what browsers can send), echoed back as the chosen protocol.
    ws = websocket.create_connection(f"{url}?stream=user", subprotocols=[vic.access_token], timeout=10)
    try:
        assert ws.getsubprotocol() == vic.access_token.lower()  # the client library lowercases what it reads
        ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Streams"}))
        ws.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert json.loads(ws.recv()) == {"error": "Unknown stream type", "status": 400}
        time.sleep(1)  # subscribe messages are read between waits (at most every half second)
        wes.status_post("hello #streams")
        frames = [json.loads(ws.recv()) for _ in range(2)]
        assert sorted(f["stream"][0] for f in frames) == ["hashtag", "user"]
        assert {f["event"] for f in frames} == {"update"}
        assert all("hello" in json.loads(f["payload"])["content"] for f in frames)
        ws.send(json.dumps({"type": "unsubscribe", "stream": "user"}))
        time.sleep(1)
        wes.status_post("again #streams")
        frame = json.loads(ws.recv())
        assert frame["stream"] == ["hashtag", "Streams"]
    finally:
        ws.close()
    # A bad token is refused before the upgrade, with Mastodon's status.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{url}?stream=user&access_token=wrong", timeout=10)
    assert refused.value.status_code == 401
    # Revoking the token closes an open socket within a heartbeat.
    ws = websocket.create_connection(url, header=[f"Authorization: Bearer {vic.access_token}"], timeout=20)
    try:
        revoked = requests.post(
            f"{server.base_url}/oauth/revoke",
            data={"token": vic.access_token, "client_id": vic.client_id, "client_secret": vic.client_secret},
            timeout=10,
        )
        assert revoked.status_code == 200
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            while True:
                ws.recv()
    finally:
        ws.close()


def _eventually(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.05)
