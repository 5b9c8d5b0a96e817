"""Two fedikit instances federating over real HTTP on loopback, used through Mastodon.py.

People on instance A find, follow and talk to people on instance B exactly as
they would across the fediverse: search resolves the remote handle through
WebFinger, the Follow is signed and delivered, B answers with an Accept,
posts arrive in the right home timelines and nowhere else.
"""

from __future__ import annotations

import contextlib
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from instances import Instance, mastodon, running
from processes import eventually

from fedikit.core.services import domain_blocks

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


def _follow(api: Any, handle: str) -> Any:
    """``api``'s person follows ``handle`` (an unlocked account) and waits for its server's Accept."""
    found = _remote(api, handle)
    api.account_follow(found["id"])
    eventually(lambda: api.account_relationships(found["id"])[0]["following"], what=f"the Accept from {handle}")
    return found


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
    _follow(erin, fred.handle)

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
    # A pending follower is no follower: followers-only posts never reach gina's server.
    hugo.status_post("only for accepted followers", visibility="private")
    hugo.status_post("said in public while gina waits", visibility="public")
    time.sleep(2)  # long enough for a delivery on loopback
    assert not [s for s in gina.account_statuses(hugo_there["id"]) if "accepted followers" in s["content"]]

    hugo.follow_request_authorize(requests[0]["id"])
    eventually(lambda: gina.account_relationships(hugo_there["id"])[0]["following"], what="the Accept")

    gina.account_unfollow(hugo_there["id"])
    eventually(lambda: not hugo.account_followers(hugo.me()["id"]), what="the Undo on B")


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def test_edits_boosts_and_media_arrive(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    ivan = a.person("ivan")
    jane = b.person("jane")
    _follow(ivan, jane.handle)

    media = jane.media_post(_png(), mime_type="image/png", description="a red square")
    posted = jane.status_post("look at this", media_ids=[media["id"]], spoiler_text="colours")
    seen = eventually(lambda: [s for s in ivan.timeline_home() if s["uri"] == posted["uri"]], what="the post")[0]
    assert seen["spoiler_text"] == "colours" and seen["sensitive"] is True
    [attachment] = seen["media_attachments"]
    assert attachment["type"] == "image" and attachment["description"] == "a red square"
    assert attachment["remote_url"].startswith(b.base_url)
    # A copies the file and serves it under a name of its own: readers never fetch from B.
    copied = eventually(
        lambda: (m := ivan.status(seen["id"])["media_attachments"][0])["url"].startswith(a.base_url) and m,
        what="the media copied to A",
    )
    assert copied["preview_url"].startswith(a.base_url) and copied["blurhash"]
    assert urllib.request.urlopen(copied["url"]).read()[:8] == b"\x89PNG\r\n\x1a\n"

    jane.status_update(posted["id"], "look at this, edited", media_ids=[media["id"]], spoiler_text="colours")
    edited = eventually(lambda: (s := ivan.status(seen["id"]))["edited_at"] and s, what="the edit on A")
    assert "edited" in edited["content"]
    assert len(ivan.status_history(seen["id"])) == 2

    # ivan boosts: jane hears of it, and a follower of ivan on B sees the boost.
    kim = b.person("kim")
    _follow(kim, ivan.handle)
    ivan.status_reblog(seen["id"])
    eventually(lambda: jane.status(posted["id"])["reblogs_count"] == 1, what="the Announce on B")
    assert jane.notifications(types=["reblog"])[0]["account"]["acct"] == ivan.handle
    boost = eventually(lambda: [s for s in kim.timeline_home() if s["reblog"]], what="the boost in kim's home")[0]
    assert boost["reblog"]["id"] == posted["id"]  # the boosted post is B's own, not a copy

    ivan.status_unreblog(seen["id"])
    eventually(lambda: jane.status(posted["id"])["reblogs_count"] == 0, what="the Undo on B")


def test_a_reply_to_an_unknown_post_fetches_the_thread(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    lena = a.person("lena")
    mark = b.person("mark")
    nina = b.person("nina")
    _follow(lena, mark.handle)

    # nina (not followed by anyone on A) starts a thread; mark (followed) answers her.
    root = nina.status_post("a question from nina")
    answer = mark.status_post(f"@{nina.handle.split('@')[0]} an answer from mark", in_reply_to_id=root["id"])
    arrived = eventually(
        lambda: (
            [s for s in lena.timeline_home() if s["uri"] == answer["uri"]]
            or lena.search_v2(answer["uri"], resolve=True, result_type="statuses")["statuses"]
        ),
        what="mark's answer on A",
    )[0]
    parent = lena.status(arrived["in_reply_to_id"])
    assert parent["uri"] == root["uri"] and parent["account"]["acct"] == nina.handle
    context = lena.status_context(arrived["id"])
    assert [s["uri"] for s in context["ancestors"]] == [root["uri"]]


def test_a_suspended_domain_is_refused(tmp_path: Path, pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    with running(tmp_path / "c") as c:
        olga = a.person("olga")
        pete = c.person("pete")
        quinn = c.person("quinn")
        pete_there = _remote(olga, pete.handle)
        olga_there = _remote(pete, olga.handle)
        a.cli("domains", "block", c.domain, "--severity", "suspend")
        time.sleep(domain_blocks.MAX_AGE)  # a block made by another process applies within this time
        try:
            # Nothing more is fetched from or accepted from c: pete's follow of olga never lands,
            # and c's signed fetches are refused too.
            pete.account_follow(olga_there["id"])
            time.sleep(3)  # long enough for a delivery on loopback: nothing may have landed
            assert olga.account_followers(olga.me()["id"]) == []
            assert pete.account_relationships(olga_there["id"])[0]["requested"] is True
            assert olga.search_v2(quinn.handle, resolve=True, result_type="accounts")["accounts"] == []
            assert " 403 " in a.log() or '" 403 ' in a.log()
        finally:
            a.cli("domains", "unblock", c.domain)
        assert pete_there["acct"] == pete.handle


def test_polls_and_votes_travel(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    rosa = a.person("rosa")
    sam = b.person("sam")
    _follow(rosa, sam.handle)

    poll = sam.make_poll(["tea", "coffee", "water"], expires_in=3600, multiple=True)
    posted = sam.status_post("what do you drink?", poll=poll)
    seen = eventually(lambda: [s for s in rosa.timeline_home() if s["uri"] == posted["uri"]], what="the poll")[0]
    assert [o["title"] for o in seen["poll"]["options"]] == ["tea", "coffee", "water"]
    assert seen["poll"]["multiple"] is True and seen["poll"]["expired"] is False

    rosa.poll_vote(seen["poll"]["id"], [0, 2])
    counted = eventually(lambda: (p := sam.poll(posted["poll"]["id"]))["votes_count"] == 2 and p, what="the votes on B")
    assert [o["votes_count"] for o in counted["options"]] == [1, 0, 1]
    assert counted["voters_count"] == 1
    mine = rosa.poll(seen["poll"]["id"])
    assert mine["voted"] is True and mine["own_votes"] == [0, 2]


def test_a_move_takes_the_followers_along(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    tina = a.person("tina")  # follows uma, who moves from A to B
    uma = a.person("uma")
    uma_new = b.person("uma2")
    vic = b.person("vic")  # on B, follows the old uma on A
    tina.account_follow(uma.me()["id"])
    uma_there = _follow(vic, uma.handle)

    # The new account names the old one as an alias, then the old one moves.
    b.cli("accounts", "alias", "uma2", uma.handle)
    a.cli("accounts", "move", "uma", uma_new.handle)

    new_on_a = _remote(tina, uma_new.handle)
    eventually(lambda: tina.account_relationships(new_on_a["id"])[0]["following"], what="tina following uma2")
    assert not tina.account_relationships(uma.me()["id"])[0]["following"]
    assert tina.account(uma.me()["id"])["moved"]["acct"] == uma_new.handle
    # vic's server got the Move and moved vic along (uma2 is local there).
    eventually(lambda: vic.account_relationships(uma_new.me()["id"])[0]["following"], what="vic following uma2")
    assert vic.account(uma_there["id"])["moved"]["acct"] == "uma2"


def _rows(instance: Instance, query: str) -> list[tuple[Any, ...]]:
    """Read an instance's own database (SQLite), as its admin would."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(instance.folder / "data" / "fedikit.sqlite3")) as connection:
        return connection.execute(query).fetchall()


def test_a_forwarded_report_reaches_the_other_server(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    wes = a.person("wes")
    xena = b.person("xena")
    xena_there = _remote(wes, xena.handle)
    rude = xena.status_post("something rude")
    rude_there = wes.search_v2(rude["uri"], resolve=True, result_type="statuses")["statuses"][0]

    wes.report(xena_there["id"], status_ids=[rude_there["id"]], comment="please look", forward=True)
    query = f"SELECT comment, status_ids FROM reports WHERE target_account_id = {int(xena.me()['id'])}"
    found = eventually(lambda: _rows(b, query), what="the Flag on B")
    assert found == [("please look", f"[{int(rude['id'])}]")]
    # The report is anonymous: it comes from A's instance actor, not from wes.
    sender = _rows(
        b,
        f"SELECT a.uri FROM reports r JOIN accounts a ON a.id = r.account_id "
        f"WHERE r.target_account_id = {int(xena.me()['id'])}",
    )
    assert sender == [(f"{a.base_url}/actor",)]
    assert wes.report(xena_there["id"], comment="not forwarded")["forwarded"] is False


def test_pins_show_on_the_other_server(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    zack = a.person("zack")
    yara = b.person("yara")
    yara_there = _follow(zack, yara.handle)

    post = yara.status_post("my best post")
    eventually(lambda: [s for s in zack.timeline_home() if s["uri"] == post["uri"]], what="the post")
    yara.status_pin(post["id"])
    pinned = eventually(lambda: zack.account_statuses(yara_there["id"], pinned=True), what="the Add on A")
    assert [s["uri"] for s in pinned] == [post["uri"]]

    yara.status_unpin(post["id"])
    eventually(lambda: not zack.account_statuses(yara_there["id"], pinned=True), what="the Remove on A")


def test_a_block_and_a_profile_update_reach_the_other_server(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    abe = a.person("abe")
    bea = b.person("bea")
    abe_there = _follow(bea, abe.handle)

    abe.account_update_credentials(
        display_name="Abe Lincoln", note="gardener and #woodworker", avatar=_png(), avatar_mime_type="image/png"
    )
    renamed = eventually(
        lambda: (x := bea.account(abe_there["id"]))["display_name"] == "Abe Lincoln" and x, what="the Update on B"
    )
    assert "gardener" in renamed["note"]
    # B copies the new avatar and serves it itself: B's readers never load it from A.
    copied = eventually(
        lambda: (x := bea.account(abe_there["id"])["avatar"]).startswith(b.base_url) and "missing" not in x and x,
        what="the avatar copied to B",
    )
    assert urllib.request.urlopen(copied).read()[:8] == b"\x89PNG\r\n\x1a\n"

    bea_there = _remote(abe, bea.handle)
    abe.account_block(bea_there["id"])
    # B ends bea's follow of abe (a block ends follows both ways) and tells nobody else.
    eventually(lambda: not bea.account_relationships(abe_there["id"])[0]["following"], what="the Block on B")
    assert abe.account_relationships(bea_there["id"])[0]["blocking"] is True


def test_a_deleted_account_is_gone_on_the_other_server(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    cid = a.person("cid")
    dot = b.person("dot")
    cid_there = _follow(dot, cid.handle)
    post = cid.status_post("goodbye world")
    eventually(lambda: [s for s in dot.timeline_home() if s["uri"] == post["uri"]], what="the post on B")

    a.cli("accounts", "delete", "cid", "--yes")

    def gone_on_b() -> bool:
        try:
            dot.account(cid_there["id"])
        except mastodon.MastodonNotFoundError:  # a removed account is not shown any more
            return True
        return False

    eventually(gone_on_b, what="the Delete on B")
    assert not dot.account_relationships(cid_there["id"])[0]["following"]
    assert not [s for s in dot.timeline_home() if s["uri"] == post["uri"]]
    gone = urllib.request.Request(cid_there["uri"], headers={"Accept": "application/activity+json"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(gone)
    assert answer.value.code == 410  # Gone, as Mastodon answers for a deleted account
