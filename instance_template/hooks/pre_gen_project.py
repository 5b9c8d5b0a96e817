"""Refuse answers the instance could not start with."""

import re
import sys

username = "{{ cookiecutter.owner_username }}"
domain = "{{ cookiecutter.local_domain }}"

if len(username) > 30 or not re.fullmatch(r"[A-Za-z0-9_]+([A-Za-z0-9_.-]+[A-Za-z0-9_]+)?", username):
    sys.exit(f"owner_username: {username!r} must be 1-30 letters, digits, _ . or -")
if not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", domain):
    sys.exit(f"local_domain: {domain!r} is not a host name (host or host:port, no scheme or path)")
