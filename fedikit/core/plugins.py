"""Plugin discovery (stevedore), registration (pluggy) and event dispatch.

Plugins come from the entry-point group ``fedikit.plugins`` (bundled plugins
are declared there too) and from an instance's own ``plugins/`` folder
(``FEDIKIT_PLUGINS_DIR``). ``FEDIKIT_PLUGINS`` is an allow-list (empty means
every installed plugin); ``FEDIKIT_DISABLED_PLUGINS`` removes plugins by name.
A disabled plugin is never imported.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import sys
from collections.abc import Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from stevedore import NamedExtensionManager

from fedikit.plugin_api import PROJECT_NAME, JobTimeout, StartupError, hookspecs

ENTRY_POINT_GROUP = "fedikit.plugins"
LOCAL_PACKAGE = "fedikit_local_plugins"

log = logging.getLogger("fedikit.plugins")


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    distribution: str
    version: str
    source: str  # "entry point" or the plugins folder

    def hooks(self, pm: pluggy.PluginManager) -> list[str]:
        plugin = pm.get_plugin(self.name)
        callers = pm.get_hookcallers(plugin) or []
        return sorted(caller.name for caller in callers)


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    for area in hookspecs.AREAS:
        pm.add_hookspecs(area)
    return pm


def installed_entry_points() -> dict[str, EntryPoint]:
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise StartupError(
                f"plugin {ep.name!r} is declared twice: by {_dist_name(found[ep.name])} "
                f"and by {_dist_name(ep)}; uninstall one"
            )
        found[ep.name] = ep
    return found


def local_plugin_files(plugins_dir: Any) -> dict[str, Path]:
    """``name -> path`` for every module or package in the instance's plugins folder."""
    if not plugins_dir:
        return {}
    folder = Path(plugins_dir)
    if not folder.is_dir():
        raise StartupError(f"FEDIKIT_PLUGINS_DIR: {folder} is not a folder")
    found = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if path.suffix == ".py":
            found[path.stem] = path
        elif (path / "__init__.py").is_file():
            found[path.name] = path / "__init__.py"
    return found


def load(config: Mapping[str, Any], pm: pluggy.PluginManager, extra: Sequence[object] = ()) -> list[PluginInfo]:
    """Import the chosen plugins and register them with ``pm``, in a stable order.

    ``extra`` plugin objects (given in code, as tests do) are registered last,
    under their ``name`` attribute or their class name.
    """
    installed = installed_entry_points()
    local = local_plugin_files(config.get("FEDIKIT_PLUGINS_DIR"))
    for name in set(installed) & set(local):
        raise StartupError(f"plugin {name!r} is both installed and in FEDIKIT_PLUGINS_DIR; rename one")
    allow = list(config.get("FEDIKIT_PLUGINS") or [])
    disabled = set(config.get("FEDIKIT_DISABLED_PLUGINS") or [])
    for name in allow:
        if name not in installed and name not in local:
            raise StartupError(f"FEDIKIT_PLUGINS: plugin {name!r} is not installed")
    for name in sorted(disabled - set(installed) - set(local)):
        log.warning("FEDIKIT_DISABLED_PLUGINS: plugin %r is not installed", name)
    wanted = [n for n in (allow or sorted(installed) + sorted(local)) if n not in disabled]

    infos: list[PluginInfo] = []
    names = [n for n in wanted if n in installed]
    if names:
        # stevedore keeps the entry points it saw for the life of the process; each
        # create_app() looks afresh, so a plugin installed since is found.
        NamedExtensionManager.ENTRY_POINT_CACHE.pop(ENTRY_POINT_GROUP, None)
        manager = NamedExtensionManager(
            ENTRY_POINT_GROUP,
            names=names,
            name_order=True,
            invoke_on_load=False,
            on_load_failure_callback=_load_failed,
            propagate_map_exceptions=True,
        )
        for ext in manager:
            ep = installed[ext.name]  # importlib's entry point knows its distribution; stevedore's may not
            infos.append(_register(pm, ext.name, ext.plugin, _dist_name(ep), _dist_version(ep), "entry point"))
    for name in wanted:
        if name in local:
            module = _import_local(name, local[name])
            infos.append(_register(pm, name, module, "-", "-", str(local[name].parent)))
    for plugin in extra:
        name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None) or type(plugin).__name__
        infos.append(_register(pm, name, plugin, "-", "-", "given in code"))
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin)
        hook = str(exc).split("'")[1] if "'" in str(exc) else str(exc)
        raise StartupError(f"plugin {name!r} implements {hook!r}, which is not a fedikit hook") from None
    return infos


def _register(
    pm: pluggy.PluginManager, name: str, plugin: ModuleType, dist: str, version: str, source: str
) -> PluginInfo:
    try:
        pm.register(plugin, name=name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise StartupError(f"plugin {name!r} ({dist}): {exc}") from None
    return PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), dist, version, source)


def _load_failed(manager: Any, entry_point: EntryPoint, exc: BaseException) -> None:
    dist = _dist_name(installed_entry_points().get(entry_point.name, entry_point))
    raise StartupError(
        f"plugin {entry_point.name!r} from {dist} failed to import: {type(exc).__name__}: {exc}"
    ) from exc


def _import_local(name: str, path: Path) -> ModuleType:
    if LOCAL_PACKAGE not in sys.modules:
        package = ModuleType(LOCAL_PACKAGE)
        package.__path__ = []
        sys.modules[LOCAL_PACKAGE] = package
    qualified = f"{LOCAL_PACKAGE}.{name}"
    if qualified in sys.modules:
        return sys.modules[qualified]
    is_package = path.name == "__init__.py"
    spec = importlib.util.spec_from_file_location(
        qualified, path, submodule_search_locations=[str(path.parent)] if is_package else None
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[qualified] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[qualified]
        raise StartupError(f"plugin {name!r} from {path} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def _dist_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "unknown distribution"


def _dist_version(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.version if dist is not None else "-"


def collect(pm: pluggy.PluginManager, hook_name: str, **kwargs: Any) -> list[Any]:
    """Every implementation's answer to a hook, each called on its own.

    An implementation that raises is logged and counts as no answer (None), so
    one broken plugin cannot take a whole page down with it.
    """
    answers = []
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        try:
            answers.append(impl.function(**{arg: kwargs[arg] for arg in impl.argnames}))
        except JobTimeout:  # the job this runs in is out of time: not this plugin's failure
            raise
        except Exception:
            log.exception("plugin %r failed answering %s", impl.plugin_name, hook_name)
            answers.append(None)
    return answers


def emit(pm: pluggy.PluginManager, event: str, **kwargs: Any) -> list[tuple[str, BaseException]]:
    """Call every implementation of an event hook, each on its own.

    pluggy stops a hook call at the first exception; an event must reach every
    plugin, so each implementation is called separately and its failure logged.
    Returns the failures, for callers and tests that care.
    """
    failures = []
    for impl in reversed(getattr(pm.hook, event).get_hookimpls()):
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except JobTimeout:  # the job this runs in is out of time: not this plugin's failure
            raise
        except Exception as exc:  # one plugin must not break the others
            log.exception("plugin %r failed handling %s", impl.plugin_name, event)
            failures.append((impl.plugin_name, exc))
    return failures
