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


def test_an_s3_instance_loads_boto3_only_when_it_touches_the_bucket(tmp_path: Path) -> None:
    # A job worker that only delivers and fans out never needs the S3 client (about 25 MB).
    settings = {
        "FEDIKIT_DATA_DIR": str(tmp_path),
        "S3_ENABLED": "true",
        "S3_BUCKET": "media",
        "S3_REGION": "us-east-1",
        "S3_ENDPOINT": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
    }
    code = (
        "import sys\n"
        "from fedikit.core.app import create_app\n"
        f"app = create_app({settings!r}, environ={{}}, env_file=False)\n"
        "store = app.extensions['fedikit'].media\n"
        "print('boto3' in sys.modules, store.url('media/a.png'))\n"
        "store.client\n"
        "print('boto3' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, check=True)
    assert result.stdout.split() == ["False", "http://127.0.0.1:9/media/media/a.png", "True"]
