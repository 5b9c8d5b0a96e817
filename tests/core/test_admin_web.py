"""The moderators' report pages (/admin/reports): signed in on the site, as the OAuth pages are."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from people import local, remote

from fedikit.core.db import db
from fedikit.core.models import Report, Role
from fedikit.core.services import reports, statuses
from fedikit.core.services.accounts import create_local_account


def test_the_sign_in_cookie_stays_home(fedikit_app: Any) -> None:
    client = fedikit_app.test_client()
    client.get("/auth/sign_in")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.same_site == "Lax" and cookie.http_only


def csrf_of(page: Any) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def signed_in(client: FlaskClient, username: str, role: Role) -> FlaskClient:
    email, password = f"{username}@example.com", f"{username} password here"
    create_local_account(username, email, password, role=role, confirmed=True)
    csrf = csrf_of(client.get("/auth/sign_in"))
    answer = client.post("/auth/sign_in", data={"email": email, "password": password, "csrf": csrf})
    assert answer.status_code == 302, answer.text
    return client


def test_a_moderator_reads_and_handles_a_report(fedikit_app: Any) -> None:
    reporter, target = local("reporter"), remote("troll", "remote.example")
    rude = (
        statuses.receive_for_test(target, "<p>rude <script>alert(1)</script>words</p>")
        if hasattr(statuses, "receive_for_test")
        else None
    )
    report = reports.file(reporter, target, comment="please look <b>now</b>", status_ids=[rude.id] if rude else [])
    client = signed_in(fedikit_app.test_client(), "moira", Role.MODERATOR)

    home = client.get("/")
    assert 'id="reports-link"' in home.text and "(1 open)" in home.text
    listing = client.get("/admin/reports")
    assert listing.status_code == 200
    assert f"#{report.id}" in listing.text and "@troll@remote.example" in listing.text and "@reporter" in listing.text

    page = client.get(f"/admin/reports/{report.id}")
    assert page.status_code == 200
    assert "please look &lt;b&gt;now&lt;/b&gt;" in page.text  # escaped, not rendered
    assert 'id="state">open' in page.text and 'id="assigned">nobody' in page.text

    def act(action: str) -> Any:
        answer = client.post(f"/admin/reports/{report.id}/{action}", data={"csrf": csrf_of(page)})
        assert answer.status_code == 302, answer.text
        return client.get(f"/admin/reports/{report.id}")

    page = act("assign_to_self")
    assert 'id="assigned">@moira' in page.text
    page = act("resolve")
    assert 'id="state">resolved by @moira' in page.text
    db.session.expire_all()
    stored = db.session.get(Report, report.id)
    assert stored.action_taken_at is not None and stored.assigned_account_id is not None
    assert 'id="no-reports"' in client.get("/admin/reports").text
    assert f"#{report.id}" in client.get("/admin/reports?resolved=1").text
    page = act("reopen")
    assert 'id="state">open' in page.text


def test_reported_posts_are_shown_as_text(fedikit_app: Any) -> None:
    reporter, target = local("reporter"), local("target")
    post = statuses.post(target, "rude words")
    post.content = '<p>rude <img src="https://tracker.example/pixel"> words</p>'  # as if HTML came from elsewhere
    db.session.commit()
    report = reports.file(reporter, target, status_ids=[post.id])
    client = signed_in(fedikit_app.test_client(), "moira", Role.ADMIN)
    page = client.get(f"/admin/reports/{report.id}")
    assert "rude  words" in page.text or "rude words" in page.text
    assert "tracker.example" not in page.text


def test_only_signed_in_moderators_and_only_with_the_form_token(fedikit_app: Any) -> None:
    report = reports.file(local("reporter"), local("target"))
    anonymous = fedikit_app.test_client()
    redirected = anonymous.get("/admin/reports")
    assert redirected.status_code == 302 and "/auth/sign_in?next=/admin/reports" in redirected.headers["Location"]
    assert anonymous.post(f"/admin/reports/{report.id}/resolve").status_code == 302  # to sign in; nothing done

    user = signed_in(fedikit_app.test_client(), "plain", Role.USER)
    assert user.get("/admin/reports").status_code == 403
    assert 'id="reports-link"' not in user.get("/").text

    moderator = signed_in(fedikit_app.test_client(), "moira", Role.OWNER)
    # just signed in, no form shown yet: the session holds no token, and no value passes for one
    for forged in ("\0", "", "forged"):
        assert moderator.post(f"/admin/reports/{report.id}/resolve", data={"csrf": forged}).status_code == 422
    page = moderator.get(f"/admin/reports/{report.id}")
    assert page.headers["X-Frame-Options"] == "DENY"  # no other site frames the buttons
    assert moderator.post(f"/admin/reports/{report.id}/resolve", data={"csrf": "forged"}).status_code == 422
    assert moderator.post(f"/admin/reports/{report.id}/explode", data={}).status_code in (404, 422)
    assert moderator.get("/admin/reports/123456").status_code == 404
    db.session.expire_all()
    assert db.session.get(Report, report.id).action_taken_at is None
