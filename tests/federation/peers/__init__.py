"""Federation peers that fedikit\x27s interop tests install and run (see servers.py)."""
