"""Resident memory of one idle web process on embedded defaults. Target: < 100 MB.

    .venv/bin/python benchmarks/idle_memory.py

Starts `fedikit serve` (gunicorn master + one gthread worker, the default),
makes a few requests so the worker has done real work, waits, then reads
/proc for the worker (the web process) and the master. RSS counts pages the
worker shares with the master after the fork; PSS splits them fairly, so the
pair's PSS sum is what the instance really costs. Also lists which optional
backend libraries the app imports (none on embedded defaults).
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from _server import migrated_instance, serving

TARGET_MB = 100
OPTIONAL_LIBRARIES = ("boto3", "botocore", "elasticsearch", "redis", "rq", "psycopg")


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise KeyError("Pss")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()]


def loaded_libraries(env: dict[str, str]) -> list[str]:
    """Optional libraries an app on these settings imports, seen from a fresh interpreter."""
    code = (
        "import sys; from fedikit.core.app import create_app; create_app(); "
        f"print(','.join(m for m in {OPTIONAL_LIBRARIES!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return [name for name in result.stdout.strip().split(",") if name]


def main() -> None:
    with migrated_instance() as env, serving(env) as (master, port, _):
        for path in ("/health", "/", "/auth/sign_in", "/health"):
            for _ in range(5):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
        time.sleep(2)
        workers = children(master.pid)
        worker = workers[0]
        worker_rss = status_kb(worker, "VmRSS") / 1024
        master_rss = status_kb(master.pid, "VmRSS") / 1024
        total_pss = (pss_kb(worker) + pss_kb(master.pid)) / 1024
        print(f"workers: {len(workers)}")
        print(f"worker (the web process) RSS: {worker_rss:.1f} MB")
        print(f"master RSS: {master_rss:.1f} MB")
        print(f"master + worker PSS: {total_pss:.1f} MB")
        print(f"optional backend libraries imported: {', '.join(loaded_libraries(env)) or 'none'}")
        verdict = "within" if worker_rss < TARGET_MB else "OVER"
        print(f"idle web process: {worker_rss:.1f} MB RSS ({verdict} the {TARGET_MB} MB target)")


if __name__ == "__main__":
    main()
