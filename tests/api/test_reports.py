"""POST /api/v1/reports: reporting an account and some of its statuses to the moderators."""

from __future__ import annotations

from typing import Any

from contract import validate
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fedikit.core.db import db
from fedikit.core.models import InstanceRule, Report
from fedikit.core.services import statuses
from fedikit.core.services.accounts import create_local_account


def reports() -> int:
    return db.session.scalar(select(func.count()).select_from(Report))


def test_report_an_account_and_its_statuses(fedikit_client: FlaskClient, api_user: Any) -> None:
    bob = create_local_account("bob", "bob@example.com", "correct horse battery", confirmed=True).account
    post = statuses.post(bob, "something rude")
    rule = InstanceRule(text="Be kind")
    db.session.add(rule)
    db.session.commit()
    response = fedikit_client.post(
        "/api/v1/reports",
        json={"account_id": str(bob.id), "status_ids": [str(post.id)], "comment": "rude", "rule_ids": [str(rule.id)]},
        headers=api_user.headers,
    )
    assert response.status_code == 200, response.text
    validate(response.json, "Report")
    assert response.json["category"] == "violation"  # rules make it one, as Mastodon
    assert response.json["status_ids"] == [str(post.id)] and response.json["rule_ids"] == [str(rule.id)]
    assert response.json["target_account"]["id"] == str(bob.id)
    assert response.json["forwarded"] is False  # bob is local: nothing to forward
    stored = db.session.scalar(select(Report))
    assert (stored.account_id, stored.target_account_id, stored.comment) == (api_user.account.id, bob.id, "rude")


def test_bad_reports_store_nothing(fedikit_client: FlaskClient, api_user: Any) -> None:
    bob = create_local_account("bob", "bob@example.com", "correct horse battery", confirmed=True).account
    carol = create_local_account("carol", "carol@example.com", "correct horse battery", confirmed=True).account
    carols = statuses.post(carol, "carol's post")
    hidden = statuses.post(bob, "only for bob's followers", visibility="private")
    headers = api_user.headers
    cases = [
        ({}, 422),  # no account
        ({"account_id": "999999"}, 404),
        ({"account_id": str(bob.id), "status_ids[]": str(carols.id)}, 404),  # not bob's
        ({"account_id": str(bob.id), "status_ids[]": str(hidden.id)}, 404),  # not visible to the reporter
        ({"account_id": str(bob.id), "status_ids[]": "nope"}, 404),
        ({"account_id": str(bob.id), "comment": "x" * 1001}, 422),
        ({"account_id": str(bob.id), "category": "boring"}, 422),
        ({"account_id": str(bob.id), "rule_ids[]": "12345"}, 422),
        ({"account_id": str(api_user.account.id)}, 422),  # oneself
    ]
    for form, status in cases:
        response = fedikit_client.post("/api/v1/reports", data=form, headers=headers)
        assert response.status_code == status, (form, response.text)
        assert "error" in response.json
    assert reports() == 0
