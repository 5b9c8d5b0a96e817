"""The per-process store of rendered entities: bounded, least recently used out first, entries expire."""

from __future__ import annotations

from fedikit.core.renders import Renders


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_go_first() -> None:
    renders = Renders(max_entries=2, clock=Clock())
    renders.put("a", 1)
    renders.put("b", 2)
    assert renders.get("a") == 1  # now "b" is the least recently used
    renders.put("c", 3)
    assert (renders.get("a"), renders.get("b"), renders.get("c")) == (1, None, 3)
    assert len(renders) == 2


def test_entries_expire() -> None:
    clock = Clock()
    renders = Renders(max_age=60, clock=clock)
    renders.put("a", 1)
    clock.now += 59.9
    assert renders.get("a") == 1
    clock.now += 0.2
    assert renders.get("a") is None and len(renders) == 0


def test_no_key_means_render_afresh() -> None:
    renders = Renders()
    renders.put(None, 1)
    assert renders.get(None) is None and len(renders) == 0
