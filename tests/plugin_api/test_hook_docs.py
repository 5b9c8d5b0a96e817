"""The plugin author's manual stays honest: every hook is documented, typed and tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from fedikit.plugin_api import hookspecs

SECTIONS = ("When:", "Semantics:", "Arguments:", "Returns:", "Since:")
TESTS = Path(__file__).parents[1]


def all_hookspecs() -> list[tuple[str, object]]:
    found = []
    for area in hookspecs.AREAS:
        for name, function in vars(area).items():
            if hasattr(function, "fedikit_spec"):
                found.append((name, function))
    return sorted(found, key=lambda item: item[0])


HOOKS = all_hookspecs()


def test_every_area_has_hooks() -> None:
    assert len(HOOKS) >= 20
    names = [name for name, _ in HOOKS]
    assert len(names) == len(set(names)), "a hook name is used in two areas"


@pytest.mark.parametrize(("name", "function"), HOOKS, ids=[name for name, _ in HOOKS])
def test_hook_is_documented(name: str, function: object) -> None:
    doc = inspect.getdoc(function) or ""
    missing = [section for section in SECTIONS if section not in doc]
    assert not missing, f"{name}: docstring lacks {missing}"
    positions = [doc.index(section) for section in SECTIONS]
    assert positions == sorted(positions), f"{name}: sections out of order"
    semantics = doc[doc.index("Semantics:") :].split("\n\n")[0]
    assert re.search(r"all run|first answer wins|registers providers", semantics), f"{name}: semantics unclear"


@pytest.mark.parametrize(("name", "function"), HOOKS, ids=[name for name, _ in HOOKS])
def test_hook_is_typed(name: str, function: object) -> None:
    signature = inspect.signature(function)
    assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type"
    for parameter in signature.parameters.values():
        assert parameter.annotation is not inspect.Parameter.empty, f"{name}: {parameter.name} untyped"


def test_every_hook_has_a_test() -> None:
    source = "\n".join(path.read_text() for path in TESTS.rglob("test_*.py") if path.name != Path(__file__).name)
    untested = [name for name, _ in HOOKS if not re.search(rf"def test_hook_{name}\b", source)]
    assert not untested, f"hooks without a test named test_hook_<name>: {untested}"
