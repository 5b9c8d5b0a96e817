"""Who may call what: every endpoint of the route table against five callers.

The endpoints come from ``ROUTES``, so a new endpoint fails
``test_every_endpoint_is_classified`` until it has a row in ``EXPECTED``.

Callers:

- ``anonymous``: no ``Authorization`` header;
- ``wrong_scope``: a user's token holding only ``push`` (no endpoint here needs it);
- ``app_only``: a ``client_credentials`` token (``read write follow``, no user);
- ``owner``: the user whose resources fill the path (their account, status, notification, list, filter...);
- ``other``: another user, with a ``read write follow`` token.

Expected answers are Mastodon's: 401 anonymous where a token is needed; 403 a
token without the scope; 422 an app-only token where a user is needed; 404
someone else's private resource; 2xx the rightful user. ``OK`` is any 2xx.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from fedikit.core.api.routes import ROUTES
from fedikit.core.db import db
from fedikit.core.models import Account, AccountConversation, Notification, Poll
from fedikit.core.services import polls, relationships, reports
from fedikit.core.services import statuses as status_service
from fedikit.core.services.accounts import create_local_account
from fedikit.plugin_api.testing import settle


def in_an_hour() -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 100, 50)).save(out, "PNG")
    return out.getvalue()


if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser


@pytest.fixture
def fedikit_config() -> dict[str, Any]:
    """Who may call what does not depend on the database: SQLite only (the visibility tests run on both)."""
    return {}


OK = "2xx"
OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLERS = ("anonymous", "wrong_scope", "app_only", "owner", "other")
# The order requests are made in one test: refusals first, the owner last (DELETE, dismiss... change things).
REQUEST_ORDER = ("anonymous", "wrong_scope", "app_only", "other", "owner")

# Rows, by caller:                      anonymous  wrong_scope  app_only  owner  other
OPEN = (OK, OK, OK, OK, OK)  # no token needed, none looked at
PUBLIC = (OK, 403, OK, OK, OK)  # anonymous allowed; a token sent must hold the scope
USER = (401, 403, 422, OK, OK)  # a user's token with the scope; acts on the caller's own things
OWNER_ONLY = (401, 403, 422, OK, 404)  # the owner's resource: anyone else is told it does not exist
ANY_TOKEN = (401, OK, OK, OK, OK)  # any valid token, no particular scope
# admin:* scopes, which none of these tokens holds (moderators' tokens: tests/api/test_admin_reports.py)
ADMIN = (401, 403, 403, 403, 403)

S = "/api/v1/statuses/<id>"
A = "/api/v1/accounts/<id>"

EXPECTED: dict[tuple[str, str], tuple[Any, Any, Any, Any, Any]] = {
    # --------------------------------------------------------------- apps
    ("POST", "/api/v1/apps"): OPEN,
    ("GET", "/api/v1/apps/verify_credentials"): ANY_TOKEN,
    # --------------------------------------------------------------- accounts
    ("GET", "/api/v1/accounts/verify_credentials"): USER,
    ("PATCH", "/api/v1/accounts/update_credentials"): USER,
    ("GET", "/api/v1/accounts/relationships"): USER,
    ("GET", "/api/v1/accounts/familiar_followers"): USER,
    ("GET", "/api/v1/accounts/lookup"): PUBLIC,
    ("GET", A): PUBLIC,
    ("GET", f"{A}/statuses"): PUBLIC,
    ("GET", f"{A}/followers"): PUBLIC,
    ("GET", f"{A}/following"): PUBLIC,
    # the owner acting on their own account: following oneself is "not found"; blocking or muting oneself a no-op
    ("POST", f"{A}/follow"): (401, 403, 422, 404, OK),
    ("POST", f"{A}/unfollow"): USER,
    ("POST", f"{A}/block"): USER,
    ("POST", f"{A}/unblock"): USER,
    ("POST", f"{A}/mute"): USER,
    ("POST", f"{A}/unmute"): USER,
    # --------------------------------------------------------------- follow requests (<id>: who asked the owner)
    ("GET", "/api/v1/follow_requests"): USER,
    ("POST", "/api/v1/follow_requests/<id>/authorize"): OWNER_ONLY,
    ("POST", "/api/v1/follow_requests/<id>/reject"): OWNER_ONLY,
    # --------------------------------------------------------------- statuses (<id>: the owner's public status)
    ("POST", "/api/v1/statuses"): USER,
    ("GET", S): PUBLIC,
    ("DELETE", S): OWNER_ONLY,
    ("GET", f"{S}/context"): PUBLIC,
    ("POST", f"{S}/favourite"): USER,
    ("POST", f"{S}/unfavourite"): USER,
    ("POST", f"{S}/reblog"): USER,
    ("POST", f"{S}/unreblog"): USER,
    ("POST", f"{S}/bookmark"): USER,
    ("POST", f"{S}/unbookmark"): USER,
    ("GET", f"{S}/favourited_by"): PUBLIC,
    ("GET", f"{S}/reblogged_by"): PUBLIC,
    ("PUT", S): (401, 403, 422, OK, 404),  # only the author edits; to others the status "does not exist"
    ("GET", f"{S}/history"): PUBLIC,
    ("GET", f"{S}/source"): OWNER_ONLY,
    ("POST", f"{S}/pin"): (401, 403, 422, OK, 422),  # others' statuses cannot be pinned
    ("POST", f"{S}/unpin"): USER,
    ("POST", f"{S}/mute"): (401, 403, 422, OK, 422),  # only a participant mutes a conversation
    ("POST", f"{S}/unmute"): (401, 403, 422, OK, 422),
    # --------------------------------------------------------------- polls (<id>: the owner's poll)
    ("GET", "/api/v1/polls/<id>"): PUBLIC,
    ("POST", "/api/v1/polls/<id>/votes"): (401, 403, 422, 422, OK),  # nobody votes in their own poll
    # --------------------------------------------------------------- scheduled statuses (<id>: the owner's)
    ("GET", "/api/v1/scheduled_statuses"): USER,
    ("GET", "/api/v1/scheduled_statuses/<id>"): OWNER_ONLY,
    ("PUT", "/api/v1/scheduled_statuses/<id>"): OWNER_ONLY,
    ("DELETE", "/api/v1/scheduled_statuses/<id>"): OWNER_ONLY,
    # --------------------------------------------------------------- media (<id>: the owner's unattached upload)
    ("POST", "/api/v1/media"): USER,
    ("POST", "/api/v2/media"): USER,
    ("GET", "/api/v1/media/<id>"): OWNER_ONLY,
    ("PUT", "/api/v1/media/<id>"): OWNER_ONLY,
    ("DELETE", "/api/v1/media/<id>"): OWNER_ONLY,
    # --------------------------------------------------------------- timelines
    ("GET", "/api/v1/timelines/home"): USER,
    ("GET", "/api/v1/timelines/public"): PUBLIC,
    ("GET", "/api/v1/timelines/tag/<hashtag>"): PUBLIC,
    # --------------------------------------------------------------- notifications (<id>: one of the owner's)
    ("GET", "/api/v1/notifications"): USER,
    ("POST", "/api/v1/notifications/clear"): USER,
    ("GET", "/api/v1/notifications/unread_count"): USER,
    ("GET", "/api/v1/notifications/<id>"): OWNER_ONLY,
    ("POST", "/api/v1/notifications/<id>/dismiss"): OWNER_ONLY,
    # --------------------------------------------------------------- lists (<id>, <list_id>: the owner's list)
    ("GET", "/api/v1/lists"): USER,
    ("POST", "/api/v1/lists"): USER,
    ("GET", "/api/v1/lists/<id>"): OWNER_ONLY,
    ("PUT", "/api/v1/lists/<id>"): OWNER_ONLY,
    ("DELETE", "/api/v1/lists/<id>"): OWNER_ONLY,
    ("GET", "/api/v1/lists/<id>/accounts"): OWNER_ONLY,
    ("POST", "/api/v1/lists/<id>/accounts"): OWNER_ONLY,
    ("DELETE", "/api/v1/lists/<id>/accounts"): OWNER_ONLY,
    ("GET", f"{A}/lists"): USER,  # the caller's own lists holding that account
    ("GET", "/api/v1/timelines/list/<list_id>"): OWNER_ONLY,
    # --------------------------------------------------------------- filters (the owner's filter, keyword, status)
    ("GET", "/api/v2/filters"): USER,
    ("POST", "/api/v2/filters"): USER,
    ("GET", "/api/v2/filters/<id>"): OWNER_ONLY,
    ("PUT", "/api/v2/filters/<id>"): OWNER_ONLY,
    ("DELETE", "/api/v2/filters/<id>"): OWNER_ONLY,
    ("GET", "/api/v2/filters/<filter_id>/keywords"): OWNER_ONLY,
    ("POST", "/api/v2/filters/<filter_id>/keywords"): OWNER_ONLY,
    ("GET", "/api/v2/filters/keywords/<id>"): OWNER_ONLY,
    ("PUT", "/api/v2/filters/keywords/<id>"): OWNER_ONLY,
    ("DELETE", "/api/v2/filters/keywords/<id>"): OWNER_ONLY,
    ("GET", "/api/v2/filters/<filter_id>/statuses"): OWNER_ONLY,
    ("POST", "/api/v2/filters/<filter_id>/statuses"): OWNER_ONLY,
    ("GET", "/api/v2/filters/statuses/<id>"): OWNER_ONLY,
    ("DELETE", "/api/v2/filters/statuses/<id>"): OWNER_ONLY,
    # --------------------------------------------------------------- markers
    ("GET", "/api/v1/markers"): USER,
    ("POST", "/api/v1/markers"): USER,
    # --------------------------------------------------------------- hashtags (<name>: a hashtag in use)
    ("GET", "/api/v1/tags/<name>"): PUBLIC,
    ("POST", "/api/v1/tags/<name>/follow"): USER,
    ("POST", "/api/v1/tags/<name>/unfollow"): USER,
    ("GET", "/api/v1/followed_tags"): USER,
    # --------------------------------------------------------------- what the caller keeps
    ("GET", "/api/v1/blocks"): USER,
    ("GET", "/api/v1/mutes"): USER,
    ("GET", "/api/v1/favourites"): USER,
    ("GET", "/api/v1/bookmarks"): USER,
    ("GET", "/api/v1/domain_blocks"): USER,
    ("POST", "/api/v1/domain_blocks"): USER,
    ("DELETE", "/api/v1/domain_blocks"): USER,
    ("GET", "/api/v1/preferences"): USER,
    ("POST", "/api/v1/reports"): USER,  # reports ``other``'s account: anyone signed in may
    ("GET", "/api/v1/admin/reports"): ADMIN,
    ("GET", "/api/v1/admin/reports/<id>"): ADMIN,
    ("PUT", "/api/v1/admin/reports/<id>"): ADMIN,
    ("POST", "/api/v1/admin/reports/<id>/assign_to_self"): ADMIN,
    ("POST", "/api/v1/admin/reports/<id>/unassign"): ADMIN,
    ("POST", "/api/v1/admin/reports/<id>/resolve"): ADMIN,
    ("POST", "/api/v1/admin/reports/<id>/reopen"): ADMIN,
    # --------------------------------------------------------------- conversations, featured tags, notes, profile
    # (<id>: the owner's conversation with ``other``, the owner's featured tag)
    ("GET", "/api/v1/conversations"): USER,
    ("DELETE", "/api/v1/conversations/<id>"): OWNER_ONLY,
    ("POST", "/api/v1/conversations/<id>/read"): OWNER_ONLY,
    ("GET", "/api/v1/accounts/search"): USER,
    ("GET", "/api/v1/featured_tags"): USER,
    ("POST", "/api/v1/featured_tags"): USER,
    ("GET", "/api/v1/featured_tags/suggestions"): USER,
    ("DELETE", "/api/v1/featured_tags/<id>"): OWNER_ONLY,
    ("GET", f"{A}/featured_tags"): PUBLIC,
    ("POST", f"{A}/note"): USER,
    ("DELETE", "/api/v1/profile/avatar"): USER,
    ("DELETE", "/api/v1/profile/header"): USER,
    # --------------------------------------------------------------- search and discovery
    ("GET", "/api/v2/search"): PUBLIC,
    ("GET", "/api/v2/suggestions"): USER,
    ("GET", "/api/v1/trends/tags"): OPEN,
    ("GET", "/api/v1/trends/statuses"): OPEN,
    ("GET", "/api/v1/trends/links"): OPEN,
    # --------------------------------------------------------------- instance
    ("GET", "/api/v1/instance"): OPEN,
    ("GET", "/api/v1/instance/rules"): OPEN,
    ("GET", "/api/v1/instance/peers"): OPEN,
    ("GET", "/api/v1/instance/activity"): OPEN,
    ("GET", "/api/v1/custom_emojis"): OPEN,
    ("GET", "/api/v2/instance"): OPEN,
    # --------------------------------------------------------------- trends, sign-up
    # (the trends rows sit under "search and discovery"); signing up takes the app's own token
    # (client_credentials), never a user's, and registrations are closed by default: this
    # matrix's app-only caller is refused with "This action is not allowed" (tests/api/test_signup.py)
    ("POST", "/api/v1/accounts"): (401, 403, 403, 403, 403),
}

# What each endpoint is sent besides the path (query string for GET, form otherwise).
ARGUMENTS: dict[tuple[str, str], Callable[[Any], dict[str, Any]]] = {
    ("POST", "/api/v1/apps"): lambda w: {"client_name": "matrix", "redirect_uris": OOB},
    ("GET", "/api/v1/accounts/lookup"): lambda w: {"acct": w.owner.account.username},
    ("GET", "/api/v1/accounts/relationships"): lambda w: {"id[]": str(w.owner.account.id)},
    ("GET", "/api/v1/accounts/familiar_followers"): lambda w: {"id[]": str(w.owner.account.id)},
    ("PATCH", "/api/v1/accounts/update_credentials"): lambda w: {"display_name": "Renamed"},
    ("POST", "/api/v1/statuses"): lambda w: {"status": "a new post"},
    ("POST", "/api/v1/domain_blocks"): lambda w: {"domain": "blocked.example"},
    ("DELETE", "/api/v1/domain_blocks"): lambda w: {"domain": "blocked.example"},
    ("GET", "/api/v2/search"): lambda w: {"q": "matrix"},
    ("POST", "/api/v1/lists"): lambda w: {"title": "a list"},
    ("PUT", "/api/v1/lists/<id>"): lambda w: {"title": "renamed"},
    ("POST", "/api/v1/lists/<id>/accounts"): lambda w: {"account_ids[]": str(w.followed.id)},
    ("DELETE", "/api/v1/lists/<id>/accounts"): lambda w: {"account_ids[]": str(w.followed.id)},
    ("POST", "/api/v2/filters"): lambda w: {"title": "a filter", "context[]": "home"},
    ("PUT", "/api/v2/filters/<id>"): lambda w: {"title": "renamed"},
    ("POST", "/api/v2/filters/<filter_id>/keywords"): lambda w: {"keyword": "another"},
    ("PUT", "/api/v2/filters/keywords/<id>"): lambda w: {"keyword": "changed"},
    ("POST", "/api/v2/filters/<filter_id>/statuses"): lambda w: {"status_id": str(w.spare.id)},
    ("POST", "/api/v1/markers"): lambda w: {"home[last_read_id]": str(w.status.id)},
    ("PUT", S): lambda w: {"status": "edited"},
    ("POST", "/api/v1/polls/<id>/votes"): lambda w: {"choices[]": "0"},
    ("PUT", "/api/v1/scheduled_statuses/<id>"): lambda w: {"scheduled_at": in_an_hour()},
    ("POST", "/api/v1/media"): lambda w: {"file": (io.BytesIO(png()), "upload.png")},
    ("POST", "/api/v2/media"): lambda w: {"file": (io.BytesIO(png()), "upload.png")},
    ("PUT", "/api/v1/media/<id>"): lambda w: {"description": "a description"},
    ("GET", "/api/v1/accounts/search"): lambda w: {"q": "owner"},
    ("POST", "/api/v1/featured_tags"): lambda w: {"name": "another"},
    ("POST", f"{A}/note"): lambda w: {"comment": "a note"},
    ("POST", "/api/v1/reports"): lambda w: {"account_id": str(w.followed.id), "comment": "spam"},
}

ENDPOINTS = [(method, path) for path, methods, _view in ROUTES for method in methods]
HASHTAG = "authzmatrix"


class World:
    """The callers, and the owner's things that fill path parameters."""

    def __init__(self, client: FlaskClient, make_api_user: MakeApiUser) -> None:
        self.client = client
        self.owner: ApiUser = make_api_user("owner")
        self.other: ApiUser = make_api_user("other")
        self.wrong_scope: ApiUser = make_api_user("narrow", scopes="push")
        requester: Account = create_local_account(
            "requester", "requester@example.com", "requester-password", confirmed=True
        ).account
        owner = self.owner.account
        self.status = status_service.post(owner, f"the owner's post #{HASHTAG}", visibility="public")
        self.spare = status_service.post(owner, "another post", visibility="public")
        self.followed = create_local_account("followed", "followed@example.com", "followed-pw", confirmed=True).account
        relationships.follow(owner, self.followed)
        status_service.favourite(requester, self.status)  # a notification of the owner's
        owner.locked = True
        relationships.follow(requester, owner)  # a pending request to the owner
        owner.locked = False
        db.session.commit()
        self.notification_id = db.session.scalar(select(Notification.id).where(Notification.account_id == owner.id))
        assert self.notification_id is not None
        status_service.post(owner, "@other a direct message", visibility="direct")
        settle(client.application)  # conversations are filed by a job (settled before any delayed job is queued)
        conversation_id = db.session.scalar(
            select(AccountConversation.id).where(AccountConversation.account_id == owner.id)
        )
        made_list = self._made("/api/v1/lists", {"title": "the owner's list"})
        made_filter = self._made(
            "/api/v2/filters",
            {"title": "the owner's filter", "context[]": "home", "keywords_attributes[][keyword]": "word"},
        )
        filtered = self._made(f"/api/v2/filters/{made_filter['id']}/statuses", {"status_id": str(self.status.id)})
        poll_status = status_service.post(owner, "which?", poll=polls.spec(["one", "two"], 3600))
        poll_id = db.session.scalar(select(Poll.id).where(Poll.status_id == poll_status.id))
        scheduled = self._made("/api/v1/statuses", {"status": "later", "scheduled_at": in_an_hour()})
        upload = self.client.post(
            "/api/v2/media", data={"file": (io.BytesIO(png()), "owner.png")}, headers=self.owner.headers
        )
        assert upload.status_code == 200, upload.text
        featured = self._made("/api/v1/featured_tags", {"name": HASHTAG})
        report = reports.file(self.other.account, owner, comment="a report about the owner")
        # what fills <param>, by the path before it
        self.path_values = {
            "/api/v1/accounts": str(owner.id),
            "/api/v1/statuses": str(self.status.id),
            "/api/v1/notifications": str(self.notification_id),
            "/api/v1/follow_requests": str(requester.id),
            "/api/v1/timelines/tag": HASHTAG,
            "/api/v1/tags": HASHTAG,
            "/api/v1/lists": made_list["id"],
            "/api/v1/timelines/list": made_list["id"],
            "/api/v2/filters": made_filter["id"],
            "/api/v2/filters/keywords": made_filter["keywords"][0]["id"],
            "/api/v2/filters/statuses": filtered["id"],
            "/api/v1/polls": str(poll_id),
            "/api/v1/scheduled_statuses": scheduled["id"],
            "/api/v1/media": upload.json["id"],
            "/api/v1/conversations": str(conversation_id),
            "/api/v1/featured_tags": featured["id"],
            "/api/v1/admin/reports": str(report.id),
        }
        self.app_token = self._app_only_token()

    def _made(self, url: str, data: dict[str, str]) -> dict[str, Any]:
        response = self.client.post(url, data=data, headers=self.owner.headers)
        assert response.status_code == 200, response.text
        return response.json

    def _app_only_token(self) -> str:
        app = self.client.post(
            "/api/v1/apps",
            data={"client_name": "app only", "redirect_uris": OOB, "scopes": "read write follow"},
        )
        assert app.status_code == 200, app.text
        token = self.client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app.json["client_id"],
                "client_secret": app.json["client_secret"],
                "scope": "read write follow",
            },
        )
        assert token.status_code == 200, token.text
        return token.json["access_token"]

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "anonymous":
            return {}
        if caller == "app_only":
            return {"Authorization": f"Bearer {self.app_token}"}
        return getattr(self, caller).headers

    def url(self, path: str) -> str:
        """``path`` with each ``<param>`` filled by what the path before it names (``/statuses/<id>``: the status)."""

        def fill(match: re.Match[str]) -> str:
            before = path[: match.start()].rstrip("/")
            if before not in self.path_values:
                pytest.fail(f"{path}: no value for <{match.group(1)}> after {before}; add one to World.path_values")
            return str(self.path_values[before])

        return re.sub(r"<([a-z_]+)>", fill, path)

    def call(self, method: str, path: str, caller: str) -> Any:
        arguments = ARGUMENTS.get((method, path), lambda w: {})(self)
        options: dict[str, Any] = {"headers": self.headers(caller)}
        options["query_string" if method == "GET" else "data"] = arguments
        return self.client.open(self.url(path), method=method, **options)


@pytest.fixture
def world(fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> World:
    return World(fedikit_client, make_api_user)


def matches(expected: Any, status_code: int) -> bool:
    return 200 <= status_code < 300 if expected == OK else status_code == expected


def expected_for(method: str, path: str, caller: str) -> Any:
    return EXPECTED[(method, path)][CALLERS.index(caller)]


# ---------------------------------------------------------------- the table covers the route table


def test_every_endpoint_is_classified() -> None:
    unclassified = [f"{m} {p}" for m, p in ENDPOINTS if (m, p) not in EXPECTED]
    stale = [f"{m} {p}" for m, p in EXPECTED if (m, p) not in ENDPOINTS]
    assert not unclassified, "endpoints without a row in EXPECTED:\n  " + "\n  ".join(unclassified)
    assert not stale, "rows in EXPECTED for endpoints that are not routed:\n  " + "\n  ".join(stale)


def test_scopes_are_declared_where_a_token_is_checked() -> None:
    """Every endpoint that refuses a wrong-scope token declares which scopes it wants (``@scoped(...)``)."""
    views = {(m, p): view for p, methods, view in ROUTES for m in methods}
    for (method, path), row in EXPECTED.items():
        if (method, path) in views and row[CALLERS.index("wrong_scope")] == 403:
            assert getattr(views[(method, path)], "fedikit_scopes", ()), f"{method} {path} declares no scope"


# ---------------------------------------------------------------- the matrix


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_matrix(world: World, method: str, path: str) -> None:
    if (method, path) not in EXPECTED:
        pytest.fail(f"{method} {path} is not classified in EXPECTED")
    wrong = []
    for caller in REQUEST_ORDER:
        expected = expected_for(method, path, caller)
        response = world.call(method, path, caller)
        if not matches(expected, response.status_code):
            wrong.append(f"{caller}: expected {expected}, got {response.status_code} {response.text[:200]}")
    assert not wrong, f"{method} {path}:\n  " + "\n  ".join(wrong)
