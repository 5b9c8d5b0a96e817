"""The embedded defaults import no optional backend library: memory is a feature."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

OPTIONAL = ("boto3", "botocore", "elasticsearch", "redis", "rq", "psycopg", "PIL")


def test_embedded_app_imports_no_optional_backend_library(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from fedikit.core.app import create_app\n"
        f"create_app({{'FEDIKIT_DATA_DIR': {str(tmp_path)!r}}}, environ={{}}, env_file=False)\n"
        f"print(','.join(m for m in {OPTIONAL!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert result.stdout.strip() == ""
