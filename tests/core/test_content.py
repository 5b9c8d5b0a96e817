"""What local posts become: Mastodon's HTML, through the one sanitiser."""

from __future__ import annotations

from typing import Any

import pytest

from fedikit.core.sanitize import plain_text, sanitize_html
from fedikit.core.services import accounts, statuses
from fedikit.plugin_api.text import hashtags, mention_handles


@pytest.fixture
def fedikit_config() -> dict[str, Any]:
    return {}


def test_mentions_and_hashtags_are_found() -> None:
    text = "hi @alice, @Bob@Example.COM and mail@example.com https://x.example/@carol #One #one #2024 #dé_jà"
    assert mention_handles(text) == ["alice", "Bob@example.com"]
    assert hashtags(text) == ["One", "dé_jà"]


def test_rendered_post(fedikit_app: Any) -> None:
    alice = accounts.create_local_account("alice", "alice@example.com", "correct horse battery").account
    accounts.create_local_account("bob", "bob@example.com", "correct horse battery")
    status = statuses.post(alice, "Hi @bob <b>&</b>\nline two\n\nSee https://example.com/path #Fedi @nobody")
    assert status.content == (
        '<p>Hi <span class="h-card" translate="no"><a href="https://fedikit.test/@bob" class="u-url mention" '
        'rel="nofollow noopener noreferrer">@<span>bob</span></a></span> &lt;b&gt;&amp;&lt;/b&gt;<br>line two</p>'
        '<p>See <a href="https://example.com/path" translate="no" rel="nofollow noopener noreferrer">'
        '<span class="invisible">https://</span><span class="">example.com/path</span><span class="invisible">'
        '</span></a> <a href="https://fedikit.test/tags/fedi" class="mention hashtag" '
        'rel="nofollow noopener noreferrer">#<span>Fedi</span></a> @nobody</p>'
    )
    assert [t.name for t in status.tags] == ["fedi"] and status.tags[0].display_name == "Fedi"
    assert status.text.startswith("Hi @bob <b>&</b>")  # the source is kept as typed


@pytest.mark.parametrize(
    ("hostile", "kept"),
    [
        ('<p onclick="x()">hi</p>', "<p>hi</p>"),
        ("<script>alert(1)</script>ok", "ok"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="nofollow noopener noreferrer">x</a>'),
        ('<img src=x onerror="alert(1)">', ""),
        ('<span class="invisible evil">u</span>', '<span class="invisible">u</span>'),
        ("<iframe src='https://evil.example'></iframe>", ""),
        (
            '<a href="https://ok.example" style="position:fixed">x</a>',
            '<a href="https://ok.example" rel="nofollow noopener noreferrer">x</a>',
        ),
    ],
)
def test_sanitiser_keeps_only_the_allow_list(hostile: str, kept: str) -> None:
    assert sanitize_html(hostile) == kept


def test_plain_text_of_html() -> None:
    assert plain_text("<p>a &amp; b<br>c</p><p>d <a href='x'>link</a></p>") == "a & b\nc\nd link"
