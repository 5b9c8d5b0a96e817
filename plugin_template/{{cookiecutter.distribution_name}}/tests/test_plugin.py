"""First tests of the plugin, using fedikit's testing kit.

The kit's fixtures (``fedikit_app``, ``fedikit_client``, ``fedikit_config``)
are available without imports once fedikit is installed. The plugin has to be
installed too (``pip install -e .``) for fedikit to discover its entry point.
"""

import logging
from types import SimpleNamespace

import fedikit_{{ cookiecutter.plugin_slug }} as plugin


def test_fedikit_discovers_the_plugin(fedikit_app):
    pm = fedikit_app.extensions["fedikit"].pm
    assert pm.get_plugin("{{ cookiecutter.plugin_slug }}") is plugin
    hooks = {caller.name for caller in pm.get_hookcallers(plugin)}
    assert "status_created" in hooks


def test_new_statuses_are_logged(caplog):
    author = SimpleNamespace(acct="alice")
    status = SimpleNamespace(id=1, local=True, account=author)
    with caplog.at_level(logging.INFO, logger=plugin.__name__):
        plugin.status_created(status=status)
    assert "new local status 1 by @alice" in caplog.text
