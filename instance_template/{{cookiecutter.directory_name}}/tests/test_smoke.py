"""The instance starts with its own plugins, and its rules are enforced."""

import pytest
from fedikit.plugin_api import Reject


@pytest.fixture
def author(fedikit_app):
    from fedikit.core.services.accounts import create_local_account

    return create_local_account("alice", "alice@example.com", "correct horse battery").account


def test_health(fedikit_client):
    response = fedikit_client.get("/health")
    assert response.status_code == 200
    assert response.text == "OK"


def test_local_plugins_are_loaded(fedikit_app):
    state = fedikit_app.extensions["fedikit"]
    assert state.pm.get_plugin("instance_rules") is not None
    assert "instance_rules" in [f.name for f in state.moderation_filters]


def test_blocked_word_is_refused(fedikit_app, author):
    from fedikit.core.services.statuses import post

    with pytest.raises(Reject):
        post(author, "This post says ForbiddenWord.")


def test_sensitive_word_marks_the_post_sensitive(fedikit_app, author):
    from fedikit.core.services.statuses import post

    assert post(author, "Hello, world").sensitive is False
    assert post(author, "A spoiler about the film").sensitive is True
