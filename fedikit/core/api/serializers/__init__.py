"""Mastodon's JSON entities, built from core's records. Wire formats live here, never in models."""
