"""/api/v1/conversations: direct messages as each participant sees them, and nobody else."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from contract import document, validate, validate_list
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fedikit.core.db import db, utcnow
from fedikit.core.models import AccountConversation
from fedikit.core.services import relationships
from fedikit.plugin_api.testing import settle

if TYPE_CHECKING:
    from conftest import ApiUser, MakeApiUser

URL = "/api/v1/conversations"


class People:
    """alice, bob and carol, each with a token; ``dm`` posts through the API and waits for the conversations job."""

    def __init__(self, app: Flask, client: FlaskClient, make_api_user: MakeApiUser) -> None:
        self.app = app
        self.client = client
        self.alice, self.bob, self.carol = (make_api_user(n) for n in ("alice", "bob", "carol"))

    def post(self, who: ApiUser, text: str, visibility: str = "direct", **fields: str) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/statuses", data={"status": text, "visibility": visibility, **fields}, headers=who.headers
        )
        assert response.status_code == 200, response.text
        settle(self.app)
        return response.json

    def conversations(self, who: ApiUser, **query: Any) -> list[dict[str, Any]]:
        response = self.client.get(URL, query_string=query, headers=who.headers)
        assert response.status_code == 200, response.text
        validate_list(response.json, "Conversation")
        return response.json


@pytest.fixture
def people(fedikit_app: Flask, fedikit_client: FlaskClient, make_api_user: MakeApiUser) -> People:
    document()  # the contract is checked on every answer: skip (with the path) without it
    return People(fedikit_app, fedikit_client, make_api_user)


def rows() -> list[tuple[int, int, list[int], bool, int | None]]:
    """Every stored row, for "nothing changed" checks."""
    db.session.expire_all()
    found = db.session.scalars(select(AccountConversation).order_by(AccountConversation.id))
    return [(r.id, r.account_id, list(r.status_ids), r.unread, r.last_status_id) for r in found]


def test_a_direct_message_starts_a_conversation_for_both(people: People) -> None:
    sent = people.post(people.alice, "@bob a secret")
    [mine] = people.conversations(people.alice)
    [theirs] = people.conversations(people.bob)
    assert mine["last_status"]["id"] == theirs["last_status"]["id"] == sent["id"]
    assert [a["acct"] for a in mine["accounts"]] == ["bob"]
    assert [a["acct"] for a in theirs["accounts"]] == ["alice"]
    assert mine["unread"] is False  # one's own message leaves one's own row read
    assert theirs["unread"] is True
    assert mine["id"] != theirs["id"]  # one row each


def test_a_reply_moves_the_same_conversation_and_marks_it_unread(people: People) -> None:
    first = people.post(people.alice, "@bob a secret")
    [before] = people.conversations(people.alice)
    reply = people.post(people.bob, "@alice a secret back", in_reply_to_id=first["id"])
    [after] = people.conversations(people.alice)
    assert after["id"] == before["id"]
    assert after["last_status"]["id"] == reply["id"]
    assert after["unread"] is True
    [bobs] = people.conversations(people.bob)
    assert bobs["unread"] is False  # bob's reply: bob has read his own row


def test_other_participants_make_another_conversation(people: People) -> None:
    people.post(people.alice, "@bob just us")
    people.post(people.alice, "@bob @carol the three of us")
    answer = people.conversations(people.alice)
    assert sorted(sorted(a["acct"] for a in c["accounts"]) for c in answer) == [["bob"], ["bob", "carol"]]
    assert len(people.conversations(people.carol)) == 1


def test_a_note_to_oneself_lists_oneself(people: People) -> None:
    people.post(people.alice, "a note to self")
    [mine] = people.conversations(people.alice)
    assert [a["acct"] for a in mine["accounts"]] == ["alice"]


def test_public_and_followers_only_mentions_make_no_conversation(people: People) -> None:
    people.post(people.alice, "@bob in public", visibility="public")
    people.post(people.alice, "@bob for followers", visibility="private")
    assert people.conversations(people.alice) == []
    assert people.conversations(people.bob) == []


def test_a_non_participant_never_sees_the_conversation(people: People) -> None:
    people.post(people.alice, "@bob DIRECTMARKER")
    [mine] = people.conversations(people.alice)
    assert people.conversations(people.carol) == []
    before = rows()
    for method, url in (("POST", f"{URL}/{mine['id']}/read"), ("DELETE", f"{URL}/{mine['id']}")):
        answer = people.client.open(url, method=method, headers=people.carol.headers)
        assert answer.status_code == 404, answer.text
        assert "DIRECTMARKER" not in answer.text
    assert rows() == before


def test_a_blocked_sender_does_not_reach_the_conversations(people: People) -> None:
    relationships.block(people.bob.account, people.alice.account)
    people.post(people.alice, "@bob are you there?")
    assert people.conversations(people.bob) == []
    assert len(people.conversations(people.alice)) == 1


def test_read_marks_it_read(people: People) -> None:
    people.post(people.alice, "@bob a secret")
    [theirs] = people.conversations(people.bob)
    answer = people.client.post(f"{URL}/{theirs['id']}/read", headers=people.bob.headers)
    assert answer.status_code == 200, answer.text
    validate(answer.json, "Conversation")
    assert answer.json["unread"] is False and answer.json["id"] == theirs["id"]
    assert people.conversations(people.bob)[0]["unread"] is False


def test_delete_drops_it_until_the_next_message(people: People) -> None:
    first = people.post(people.alice, "@bob a secret")
    [theirs] = people.conversations(people.bob)
    answer = people.client.delete(f"{URL}/{theirs['id']}", headers=people.bob.headers)
    assert answer.status_code == 200 and answer.json == {}
    assert people.conversations(people.bob) == []
    assert len(people.conversations(people.alice)) == 1  # alice's row is hers
    assert people.client.get(f"/api/v1/statuses/{first['id']}", headers=people.bob.headers).status_code == 200
    people.post(people.alice, "@bob another one", in_reply_to_id=first["id"])
    assert len(people.conversations(people.bob)) == 1


def test_unknown_ids_are_not_found_and_change_nothing(people: People) -> None:
    people.post(people.alice, "@bob a secret")
    before = rows()
    for raw in ("123", "not-a-number", "99999999999999999999"):
        for method, url in (("POST", f"{URL}/{raw}/read"), ("DELETE", f"{URL}/{raw}")):
            answer = people.client.open(url, method=method, headers=people.alice.headers)
            assert answer.status_code == 404, (method, raw, answer.text)
            assert answer.json == {"error": "Record not found"}
    assert rows() == before


def test_deleting_statuses_moves_back_then_removes_the_conversation(people: People) -> None:
    first = people.post(people.alice, "@bob one")
    second = people.post(people.alice, "@bob two", in_reply_to_id=first["id"])
    assert people.conversations(people.bob)[0]["last_status"]["id"] == second["id"]
    assert people.client.delete(f"/api/v1/statuses/{second['id']}", headers=people.alice.headers).status_code == 200
    assert people.conversations(people.bob)[0]["last_status"]["id"] == first["id"]
    assert people.client.delete(f"/api/v1/statuses/{first['id']}", headers=people.alice.headers).status_code == 200
    assert people.conversations(people.bob) == []
    assert people.conversations(people.alice) == []
    assert db.session.scalar(select(func.count()).select_from(AccountConversation)) == 0


def test_the_last_status_is_one_the_viewer_may_see(people: People) -> None:
    first = people.post(people.alice, "@bob @carol one")
    people.post(people.carol, "@alice @bob from carol", in_reply_to_id=first["id"])
    # carol's message is the newest in alice's row; once carol is suspended, alice may no longer see it
    people.carol.account.suspended_at = utcnow()
    db.session.commit()
    [mine] = people.conversations(people.alice)
    assert mine["last_status"]["id"] == first["id"]


def test_pages_newest_activity_first_with_link_headers(people: People) -> None:
    people.post(people.alice, "@bob to bob")
    people.post(people.alice, "@carol to carol")
    first_page = people.client.get(URL, query_string={"limit": 1}, headers=people.alice.headers)
    assert [a["acct"] for a in first_page.json[0]["accounts"]] == ["carol"]
    link = first_page.headers["Link"]
    next_url = link.split(";")[0].strip("<>")
    assert "max_id=" in next_url and "limit=1" in next_url
    second_page = people.client.get(next_url, headers=people.alice.headers)
    assert [a["acct"] for a in second_page.json[0]["accounts"]] == ["bob"]
    validate_list(second_page.json, "Conversation")
    newer = people.client.get(
        URL, query_string={"min_id": second_page.json[0]["last_status"]["id"]}, headers=people.alice.headers
    )
    assert [c["id"] for c in newer.json] == [first_page.json[0]["id"]]
