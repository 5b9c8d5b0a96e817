"""The ActivityPub plugin will live here: actors, inbox, outbox, delivery and fetching.

For now the package holds only the HTTP-signature primitives
(:mod:`fedikit.plugins.activitypub.signatures`): it has no hook implementations
and no entry point yet, so nothing loads it.
"""
