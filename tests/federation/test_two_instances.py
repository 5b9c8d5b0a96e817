"""Two fedikit instances federating over real HTTP on loopback, used through Mastodon.py.

People on instance A find, follow and talk to people on instance B exactly as
they would across the fediverse: search resolves the remote handle through
WebFinger, the Follow is signed and delivered, B answers with an Accept,
posts arrive in the right home timelines and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from instances import Instance, eventually, running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Instance, Instance]]:
    folder: Path = tmp_path_factory.mktemp("federation")
    with running(folder / "a") as a, running(folder / "b") as b:
        yield a, b


def _remote(api: Any, handle: str) -> Any:
    """The account ``handle`` as ``api``'s instance knows it, fetched through search with resolve."""
    found = api.search_v2(handle, resolve=True, result_type="accounts")["accounts"]
    assert [account["acct"] for account in found] == [handle]
    return found[0]


def _home_texts(api: Any) -> list[str]:
    return [status["content"] for status in api.timeline_home(limit=40)]


def test_follow_an_unlocked_remote_account_and_receive_exactly_what_followers_may_see(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    alice = a.person("alice")
    bob = b.person("bob")
    carol = b.person("carol")

    bob_there = _remote(alice, bob.handle)
    assert bob_there["url"].startswith(b.base_url)
    alice.account_follow(bob_there["id"])
    eventually(lambda: alice.account_relationships(bob_there["id"])[0]["following"], what="the Accept")
    alice_here = eventually(lambda: bob.account_followers(bob.me()["id"]), what="alice among bob's followers")
    assert [f["acct"] for f in alice_here] == [alice.handle]

    bob.status_post("public hello", visibility="public")
    bob.status_post("unlisted hello", visibility="unlisted")
    bob.status_post("followers hello", visibility="private")
    bob.status_post(f"@{alice.handle.split('@')[0]}@{a.domain} direct hello", visibility="direct")
    bob.status_post(f"@{carol.handle.split('@')[0]} not for alice", visibility="direct")
    bob.status_post("last one", visibility="public")

    texts = eventually(lambda: (t := _home_texts(alice)) and any("last one" in x for x in t) and t, what="the posts")
    joined = " ".join(texts)
    for expected in ("public hello", "unlisted hello", "followers hello", "direct hello"):
        assert expected in joined
    assert "not for alice" not in joined

    mentions = alice.notifications(types=["mention"])
    assert [n["status"]["visibility"] for n in mentions] == ["direct"]
    assert mentions[0]["account"]["acct"] == bob.handle

    public = a.person("dora").timeline_public(remote=True)
    shown = " ".join(s["content"] for s in public)
    assert "public hello" in shown
    assert "unlisted hello" not in shown and "followers hello" not in shown and "direct hello" not in shown


def test_favourite_reply_and_delete_travel_both_ways(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    erin = a.person("erin")
    fred = b.person("fred")
    fred_there = _remote(erin, fred.handle)
    erin.account_follow(fred_there["id"])
    eventually(lambda: erin.account_relationships(fred_there["id"])[0]["following"], what="the Accept")

    original = fred.status_post("a post to answer", visibility="public")
    arrived = eventually(
        lambda: [s for s in erin.timeline_home() if "a post to answer" in s["content"]], what="the post on A"
    )[0]
    assert arrived["uri"] == original["uri"]

    erin.status_favourite(arrived["id"])
    eventually(lambda: fred.status(original["id"])["favourites_count"] == 1, what="the Like on B")
    favourite = fred.notifications(types=["favourite"])[0]
    assert favourite["account"]["acct"] == erin.handle

    erin.status_post(f"@{fred.handle.split('@')[0]}@{b.domain} my answer", in_reply_to_id=arrived["id"])
    reply = eventually(lambda: fred.notifications(types=["mention"]), what="the reply on B")[0]["status"]
    assert reply["in_reply_to_id"] == original["id"]
    assert reply["account"]["acct"] == erin.handle

    fred.status_delete(original["id"])
    eventually(
        lambda: not [s for s in erin.timeline_home() if "a post to answer" in s["content"]], what="the Delete on A"
    )


def test_a_locked_account_decides_and_an_unfollow_ends_the_follow(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    gina = a.person("gina")
    hugo = b.person("hugo", locked=True)
    hugo_there = _remote(gina, hugo.handle)
    assert hugo_there["locked"] is True

    gina.account_follow(hugo_there["id"])
    requests = eventually(lambda: hugo.follow_requests(), what="the follow request on B")
    assert [r["acct"] for r in requests] == [gina.handle]
    assert gina.account_relationships(hugo_there["id"])[0]["requested"] is True

    hugo.follow_request_authorize(requests[0]["id"])
    eventually(lambda: gina.account_relationships(hugo_there["id"])[0]["following"], what="the Accept")

    gina.account_unfollow(hugo_there["id"])
    eventually(lambda: not hugo.account_followers(hugo.me()["id"]), what="the Undo on B")
