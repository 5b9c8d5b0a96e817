"""Give the new instance its own secret key, readable only by its owner."""

import os
import secrets
from pathlib import Path

env_file = Path(".env.production")
lines = env_file.read_text().splitlines(keepends=True)
for index, line in enumerate(lines):
    if line.strip() == "SECRET_KEY_BASE=":
        lines[index] = f"SECRET_KEY_BASE={secrets.token_hex(64)}\n"
env_file.write_text("".join(lines))
os.chmod(env_file, 0o600)
