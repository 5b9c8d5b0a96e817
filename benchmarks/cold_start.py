"""Cold start: from running `fedikit serve` to the first 200 from /health. Target: < 2 s.

    .venv/bin/python benchmarks/cold_start.py [runs]

Each run starts a new server process on an already migrated SQLite instance
(embedded defaults) and stops it again; the script prints every run and the median.
"""

from __future__ import annotations

import statistics
import sys

from _server import migrated_instance, serving

TARGET_SECONDS = 2.0


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    timings = []
    with migrated_instance() as env:
        for n in range(runs):
            with serving(env) as (_, _, seconds):
                timings.append(seconds)
            print(f"run {n + 1}: {seconds:.3f} s")
    median = statistics.median(timings)
    verdict = "within" if median < TARGET_SECONDS else "OVER"
    print(
        f"cold start to first 200: median {median:.3f} s, min {min(timings):.3f} s, max {max(timings):.3f} s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target)"
    )


if __name__ == "__main__":
    main()
