"""Snowflake ids: time-sortable, strictly increasing within a process, 64-bit."""

from __future__ import annotations

import datetime as dt
import threading

from fedikit.core import ids


def test_ids_increase_and_carry_their_time() -> None:
    before = dt.datetime.now(dt.UTC)
    made = [ids.next_id() for _ in range(10_000)]
    after = dt.datetime.now(dt.UTC)
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(0 < i < 2**63 for i in made)
    assert before - dt.timedelta(milliseconds=2) <= ids.timestamp(made[0])
    assert ids.timestamp(made[-1]) <= after + dt.timedelta(milliseconds=70)  # at most one borrowed ms per 65k


def test_ids_are_unique_across_threads() -> None:
    out: list[list[int]] = [[] for _ in range(4)]

    def make(bucket: list[int]) -> None:
        bucket.extend(ids.next_id() for _ in range(5000))

    threads = [threading.Thread(target=make, args=(bucket,)) for bucket in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for bucket in out for i in bucket]
    assert len(set(every)) == len(every)


def test_backdated_ids_sort_by_their_time() -> None:
    old = dt.datetime(2020, 1, 1, 0, 0, 0, 250_000, tzinfo=dt.UTC)
    backdated = ids.id_at(old)
    assert ids.min_id_at(old) <= backdated < ids.min_id_at(old + dt.timedelta(milliseconds=1))
    assert backdated < ids.next_id()
    assert ids.timestamp(backdated) == old


def test_times_without_milliseconds_spread_over_their_second() -> None:
    """Servers date posts to the second: a burst dated one second must not share 65,536 ids."""
    second = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    drawn = [ids.id_at(second) for _ in range(2000)]
    assert len(set(drawn)) == len(drawn)
    assert all(ids.min_id_at(second) <= i < ids.min_id_at(second + dt.timedelta(seconds=1)) for i in drawn)
    assert len({ids.timestamp(i) for i in drawn}) > 500  # spread over the second's milliseconds
