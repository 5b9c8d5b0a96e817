"""Federation peers that the interop tests install and run (see servers.py)."""
