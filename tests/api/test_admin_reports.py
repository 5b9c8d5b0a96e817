"""/api/v1/admin/reports: moderators read reports and handle them, as with Mastodon's admin API."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
from contract import validate, validate_list
from flask.testing import FlaskClient
from sqlalchemy import event

from fedikit.core.db import db
from fedikit.core.models import Account, InstanceRule, Role
from fedikit.core.services import reports, statuses

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

ADMIN_SCOPES = "read write admin:read:reports admin:write:reports"
URL = "/api/v1/admin/reports"


@pytest.fixture
def moderator(make_api_user: MakeApiUser) -> ApiUser:
    return make_api_user("moira", role=Role.MODERATOR, scopes=ADMIN_SCOPES)


@pytest.fixture
def reporter(make_api_user: MakeApiUser) -> ApiUser:
    return make_api_user("reporter")


@pytest.fixture
def target(make_api_user: MakeApiUser) -> ApiUser:
    return make_api_user("target")


def file_report(reporter: ApiUser, target: ApiUser, **kwargs: Any) -> int:
    return reports.file(reporter.account, target.account, **kwargs).id


def test_a_moderator_reads_a_report_with_its_accounts_statuses_and_rules(
    fedikit_client: FlaskClient, moderator: ApiUser, reporter: ApiUser, target: ApiUser
) -> None:
    rude = statuses.post(target.account, "something rude", visibility="public")
    rule = InstanceRule(text="Be kind", hint="to everyone")
    db.session.add(rule)
    db.session.commit()
    report_id = file_report(reporter, target, status_ids=[rude.id], comment="rude", rule_ids=[rule.id])

    listed = fedikit_client.get(URL, headers=moderator.headers)
    assert listed.status_code == 200, listed.text
    validate_list(listed.json, "AdminReport")
    assert [r["id"] for r in listed.json] == [str(report_id)]
    shown = fedikit_client.get(f"{URL}/{report_id}", headers=moderator.headers).json
    validate(shown, "AdminReport")
    assert shown["account"]["username"] == "reporter" and shown["account"]["email"] == "reporter@example.com"
    assert shown["target_account"]["account"]["acct"] == "target"
    assert shown["target_account"]["role"]["permissions"] == "65536"  # a plain user
    assert [s["id"] for s in shown["statuses"]] == [str(rude.id)]
    assert "something rude" in shown["statuses"][0]["content"]
    assert shown["rules"] == [{"id": str(rule.id), "text": "Be kind", "hint": "to everyone"}]
    assert (shown["category"], shown["comment"], shown["action_taken"]) == ("violation", "rude", False)
    assert shown["assigned_account"] is None and shown["action_taken_by_account"] is None


def test_assign_recategorize_resolve_and_reopen(
    fedikit_client: FlaskClient, moderator: ApiUser, reporter: ApiUser, target: ApiUser
) -> None:
    report_id = file_report(reporter, target, comment="spam?")

    def act(action: str, method: str = "POST", **data: Any) -> dict[str, Any]:
        url = f"{URL}/{report_id}" + (f"/{action}" if action else "")
        response = fedikit_client.open(url, method=method, data=data, headers=moderator.headers)
        assert response.status_code == 200, response.text
        validate(response.json, "AdminReport")
        return response.json

    assert act("assign_to_self")["assigned_account"]["id"] == str(moderator.account.id)
    assert act("unassign")["assigned_account"] is None
    assert act("", method="PUT", category="spam")["category"] == "spam"
    unknown_rule = fedikit_client.put(f"{URL}/{report_id}", data={"rule_ids[]": "12345"}, headers=moderator.headers)
    assert unknown_rule.status_code == 422
    bad_category = fedikit_client.put(f"{URL}/{report_id}", data={"category": "nonsense"}, headers=moderator.headers)
    assert bad_category.status_code == 422
    assert act("", method="GET")["category"] == "spam"  # neither refused change was kept

    resolved = act("resolve")
    assert resolved["action_taken"] is True and resolved["action_taken_at"] is not None
    assert resolved["action_taken_by_account"]["id"] == str(moderator.account.id)
    assert fedikit_client.get(URL, headers=moderator.headers).json == []  # the list shows open reports
    done = fedikit_client.get(f"{URL}?resolved=true", headers=moderator.headers).json
    assert [r["id"] for r in done] == [str(report_id)]

    reopened = act("reopen")
    assert reopened["action_taken"] is False and reopened["action_taken_by_account"] is None
    assert [r["id"] for r in fedikit_client.get(URL, headers=moderator.headers).json] == [str(report_id)]


def test_only_moderators_holding_the_scope_may(
    fedikit_client: FlaskClient, make_api_user: MakeApiUser, reporter: ApiUser, target: ApiUser
) -> None:
    report_id = file_report(reporter, target)
    plain_user = make_api_user("plain", scopes=ADMIN_SCOPES)
    refused = fedikit_client.get(URL, headers=plain_user.headers)
    assert (refused.status_code, refused.json) == (403, {"error": "This action is not allowed"})
    assert fedikit_client.post(f"{URL}/{report_id}/resolve", headers=plain_user.headers).status_code == 403

    reader = make_api_user("reader", role=Role.ADMIN, scopes="admin:read:reports")
    assert fedikit_client.get(URL, headers=reader.headers).status_code == 200
    assert fedikit_client.post(f"{URL}/{report_id}/resolve", headers=reader.headers).status_code == 403
    broad = make_api_user("broad", role=Role.OWNER, scopes="admin:read admin:write")  # the parents grant the parts
    assert fedikit_client.post(f"{URL}/{report_id}/resolve", headers=broad.headers).status_code == 200
    assert fedikit_client.get(f"{URL}/123", headers=broad.headers).status_code == 404
    assert fedikit_client.get(f"{URL}/nonsense", headers=broad.headers).status_code == 404
    assert fedikit_client.get(URL).status_code == 401


def test_filtered_by_reporter_or_target_and_paged(
    fedikit_client: FlaskClient, moderator: ApiUser, reporter: ApiUser, target: ApiUser, make_api_user: MakeApiUser
) -> None:
    other = make_api_user("other")
    about_target = [file_report(reporter, target, comment=f"{n}") for n in range(3)]
    by_other = file_report(other, target)
    about_reporter = file_report(other, reporter)

    def ids(query: str) -> list[str]:
        response = fedikit_client.get(f"{URL}?{query}", headers=moderator.headers)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json]

    assert ids(f"target_account_id={target.account.id}") == [str(i) for i in [by_other, *about_target[::-1]]]
    assert ids(f"account_id={other.account.id}") == [str(about_reporter), str(by_other)]
    first = fedikit_client.get(f"{URL}?limit=2", headers=moderator.headers)
    assert [r["id"] for r in first.json] == [str(about_reporter), str(by_other)]
    assert 'rel="next"' in first.headers["Link"]
    assert ids(f"limit=2&max_id={by_other}") == [str(i) for i in about_target[:0:-1]]


def test_a_report_from_another_server_shows_its_sender_without_a_user(
    fedikit_client: FlaskClient, moderator: ApiUser, target: ApiUser
) -> None:
    remote = Account(username="watcher", domain="remote.example", uri="https://remote.example/users/watcher")
    db.session.add(remote)
    db.session.commit()
    assert reports.receive(remote, target.account, [], "from afar") is not None
    shown = fedikit_client.get(URL, headers=moderator.headers).json[0]
    sender = shown["account"]
    assert (sender["username"], sender["domain"], sender["email"], sender["role"]) == (
        "watcher",
        "remote.example",
        None,
        None,
    )
    assert sender["account"]["acct"] == "watcher@remote.example"
    assert shown["comment"] == "from afar"


def test_the_list_costs_the_same_queries_for_few_reports_or_many(
    fedikit_client: FlaskClient, moderator: ApiUser, reporter: ApiUser, target: ApiUser, make_api_user: MakeApiUser
) -> None:
    rude = statuses.post(target.account, "rude", visibility="public")
    request_thread = threading.get_ident()
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == request_thread:
            statements.append(statement)

    def queries() -> int:
        fedikit_client.get(URL, headers=moderator.headers)  # renders kept from here on
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert fedikit_client.get(URL, headers=moderator.headers).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    file_report(reporter, target, status_ids=[rude.id])
    few = queries()
    for n in range(4):
        file_report(make_api_user(f"reporter{n}"), target, status_ids=[rude.id])
    assert queries() == few
