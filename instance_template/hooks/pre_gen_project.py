"""Refuse answers the instance could not start with."""

import re
import sys

username = "{{ cookiecutter.owner_username }}"
domain = "{{ cookiecutter.local_domain }}"

if not re.fullmatch(r"[A-Za-z0-9_]{1,30}", username):
    sys.exit(f"owner_username: {username!r} may only use letters, digits and _ (at most 30)")
if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", domain):
    sys.exit(f"local_domain: {domain!r} is not a host name (host or host:port, no scheme or path)")
