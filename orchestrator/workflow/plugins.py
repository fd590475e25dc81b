"""Rules from installed packages: the entry-point group ``orchestrator.rules`` (name = rule name)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from orchestrator.rules import Rule, RuleRegistry, core_registry
from orchestrator.rules.registry import RuleClass
from orchestrator.workflow.errors import FileError, WorkflowLoadError

ENTRY_POINT_GROUP = "orchestrator.rules"


class RulePluginError(WorkflowLoadError):
    """A rule plugin could not be used; each error names the plugin and the package that provides it."""


def discover_rules(plugins: Iterable[EntryPoint] | None = None) -> RuleRegistry:
    """The core rules plus every rule registered under ``orchestrator.rules`` (``plugins`` overrides what
    is installed, for tests). Raises ``RulePluginError`` listing every plugin that fails to load."""
    registry = core_registry()
    found = {name: cls for name, cls in registry}
    origin = dict.fromkeys(found, "orchestrator (core)")
    errors: list[FileError] = []
    for plugin in plugins if plugins is not None else entry_points(group=ENTRY_POINT_GROUP):
        problem = _register(plugin, found, origin)
        if problem is not None:
            errors.append(FileError(_package(plugin), None, None, problem))
    if errors:
        raise RulePluginError(errors)
    for name, cls in found.items():
        registry.register(cls, name)
    return registry


def _register(plugin: EntryPoint, found: dict[str, RuleClass], origin: dict[str, str]) -> str | None:
    """Add ``plugin`` to ``found``; return what is wrong with it, if anything."""
    where = f"rule plugin {plugin.name!r} ({plugin.value})"
    try:
        loaded = plugin.load()
    except Exception as exc:
        return f"{where} failed to import: {type(exc).__name__}: {exc}; reinstall its package or uninstall it"
    if not (isinstance(loaded, type) and issubclass(loaded, Rule)):
        return f"{where} is not a Rule subclass but {loaded!r}; point the entry point at a Rule class"
    existing = found.get(plugin.name)
    if existing is not None and existing is not loaded:
        return (
            f"{where} registers the rule name {plugin.name!r}, which {origin[plugin.name]} already provides "
            f"({existing.__module__}.{existing.__qualname__}); rename one of the entry points"
        )
    found[plugin.name] = loaded
    origin[plugin.name] = _package(plugin)
    return None


def _package(plugin: EntryPoint) -> str:
    dist = plugin.dist
    return f"package {dist.name} {dist.version}" if dist is not None else f"entry point {plugin.name} = {plugin.value}"
