"""Rules by name. The core library is built in; other packages add rules through entry points."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from orchestrator.rules import code, core, library
from orchestrator.rules.base import Rule

RuleClass = type[Rule]  # type: ignore[type-arg]


class UnknownRule(LookupError):
    def __init__(self, name: str, known: Iterable[str]) -> None:
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        super().__init__(f"unknown rule {name!r}{hint}")
        self.name = name


class RuleRegistry:
    """Maps a rule's short name (the last dotted segment in a workflow file) to its class."""

    def __init__(self, rules: Iterable[tuple[str, RuleClass]] = ()) -> None:
        self._rules: dict[str, RuleClass] = {}
        for name, cls in rules:
            self.register(cls, name)

    def register(self, cls: RuleClass, name: str | None = None) -> None:
        self._rules[name or cls.__name__] = cls

    def resolve(self, name: str) -> RuleClass:
        short = name.rsplit(".", 1)[-1]
        try:
            return self._rules[short]
        except KeyError:
            raise UnknownRule(short, self._rules) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.rsplit(".", 1)[-1] in self._rules

    def __iter__(self) -> Iterator[tuple[str, RuleClass]]:
        return iter(sorted(self._rules.items()))


def core_registry() -> RuleRegistry:
    """The built-in library only (what tests and the engine use without plugins)."""
    rules: tuple[RuleClass, ...] = (*core.CORE_RULES, *library.LIBRARY_RULES, code.Code)
    return RuleRegistry((cls.__name__, cls) for cls in rules)
