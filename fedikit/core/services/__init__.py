"""Domain actions. Views, CLI commands, jobs and plugins change state only through these.

Each action validates its input, stores the change in one transaction, commits,
then fires the matching domain-event hook (see ``plugin_api.hookspecs.protocol``).
Bad input raises :class:`ValidationError` (Mastodon answers 422) or
:class:`Forbidden` (403) / :class:`NotFound` (404); nothing is stored then.
"""
