"""fedikit federating with servers we did not write: Fedify 1 and 2 (npm) and bovine-herd (PyPI).

The peers are installed by the tests themselves (see ``peers/servers.py``) and
run on loopback next to a real fedikit instance. Both directions are checked
for each peer, with the peer's own implementation on the other end:

- the peer follows a fedikit user, receives fedikit's Accept, then receives
  that user's post as a Create;
- a fedikit user finds the peer's actor (search with resolve, i.e. WebFinger
  and a signed actor fetch), follows it, gets the peer's Accept, and sees the
  peer's post in the home timeline.

bovine-herd refuses unsigned GETs of its actors, so it also checks that
fedikit signs its fetches. Fedify 1 signs with draft-cavage, Fedify 2 with
RFC 9421 first; no inbox POST from any peer may be refused.

Fedify 2 also signs its GETs of our key with RFC 9421, covering an
``@target-uri`` that keeps the keyId's ``#main-key`` fragment; fedikit (like
Mastodon) verifies against the URL actually requested and answers 401, and
Fedify falls back to draft-cavage, which passes, and keeps using it for this
server. That fallback is part of what is tested here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from instances import Instance, running
from peers.servers import FEDIFY_1, FEDIFY_2, Peer, bovine_peer, fedify_peer
from processes import eventually

pytestmark = pytest.mark.slow

TIMEOUT = 30.0  # deliveries on loopback take well under a second; the first key fetches a little longer


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    with running(tmp_path_factory.mktemp("interop") / "fedikit") as fedikit:
        yield fedikit


PEERS: dict[str, Callable[[Path], contextlib.AbstractContextManager[Peer]]] = {
    "fedify1": lambda folder: fedify_peer(folder, FEDIFY_1),
    "fedify2": lambda folder: fedify_peer(folder, FEDIFY_2),
    "bovine": bovine_peer,
}


@pytest.fixture(scope="module", params=list(PEERS))
def peer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    with PEERS[request.param](tmp_path_factory.mktemp(request.param)) as running_peer:
        running_peer.slug = request.param
        yield running_peer


def _object_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


def _arrived(peer: Peer, kind: str, **match: Any) -> list[dict[str, Any]]:
    """Activities of type ``kind`` that reached the peer, whose fields equal ``match`` (objects compared by id)."""
    found = []
    for entry in peer.received():
        activity = entry["json"]
        if activity.get("type") != kind:
            continue
        if all(_object_id(activity.get(name)) == value for name, value in match.items()):
            found.append(entry)
    return found


def _refused_deliveries(instance: Instance) -> list[str]:
    """Inbox POSTs that fedikit refused: every peer's signature (cavage or RFC 9421) must pass on the first knock."""
    return re.findall(r'"POST /(?:users/\S+/)?inbox HTTP/[\d.]+" 4\d\d .*', instance.log())


def _actor_url(instance: Instance, api: Any) -> str:
    return f"{instance.base_url}/users/{api.me()['username']}"


def test_the_peer_follows_a_fedikit_user_and_receives_her_posts(peer: Peer, instance: Instance) -> None:
    alice = instance.person(f"alice_{peer.slug}")
    alice_url = _actor_url(instance, alice)
    fan = "fan"
    fan_id = peer.new_actor(fan)

    peer.follow(fan, alice_url)
    accepts = eventually(
        lambda: _arrived(peer, "Accept", actor=alice_url), timeout=TIMEOUT, what=f"fedikit's Accept at {peer.kind}"
    )
    accept = accepts[0]["json"]
    follow = accept["object"]
    if isinstance(follow, dict):
        assert follow["type"] == "Follow" and follow["actor"] == fan_id and _object_id(follow["object"]) == alice_url
    assert not accepts[0].get("error"), accepts[0]["error"]
    followers = eventually(
        lambda: alice.account_followers(alice.me()["id"]), timeout=TIMEOUT, what="the follower on fedikit"
    )
    assert [f["acct"] for f in followers] == [peer.handle(fan)]
    assert followers[0]["url"].startswith(peer.base_url)

    posted = alice.status_post(f"hello {peer.kind} followers", visibility="public")
    creates = eventually(
        lambda: _arrived(peer, "Create", actor=alice_url), timeout=TIMEOUT, what=f"the Create at {peer.kind}"
    )
    note = creates[0]["json"]["object"]
    assert isinstance(note, dict), f"the Create should embed the Note: {creates[0]['json']}"
    assert note["id"] == posted["uri"]
    assert f"hello {peer.kind} followers" in note["content"]
    assert note["attributedTo"] == alice_url
    assert not creates[0].get("error"), creates[0]["error"]
    assert _refused_deliveries(instance) == []


def test_a_fedikit_user_follows_the_peer_and_sees_its_posts(peer: Peer, instance: Instance) -> None:
    bob = instance.person(f"bob_{peer.slug}")
    bob_url = _actor_url(instance, bob)
    star = "star"
    star_id = peer.new_actor(star)

    found = bob.search_v2(peer.handle(star), resolve=True, result_type="accounts")["accounts"]
    assert [account["acct"] for account in found] == [peer.handle(star)]
    star_there = found[0]
    assert star_there["uri"] == star_id

    bob.account_follow(star_there["id"])
    follows = eventually(
        lambda: _arrived(peer, "Follow", actor=bob_url), timeout=TIMEOUT, what=f"fedikit's Follow at {peer.kind}"
    )
    assert _object_id(follows[0]["json"]["object"]) == star_id
    eventually(
        lambda: bob.account_relationships(star_there["id"])[0]["following"],
        timeout=TIMEOUT,
        what=f"{peer.kind}'s Accept on fedikit",
    )

    text = f"news from {peer.kind}"
    peer.post(star, text)
    seen = eventually(
        lambda: [s for s in bob.timeline_home() if text in s["content"]],
        timeout=TIMEOUT,
        what=f"{peer.kind}'s post in the home timeline",
    )
    assert seen[0]["account"]["acct"] == peer.handle(star)
    assert seen[0]["visibility"] == "public"
    assert _refused_deliveries(instance) == []
