"""A workflow definition turned into rule instances and a matching index, checked whole."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import ValidationError

from orchestrator.model import Ruleset, RuleSpec, WorkflowDefinition
from orchestrator.rules import Rule, RuleRegistry, UnknownRule

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Issue:
    """One thing wrong with a workflow, at ``path`` inside the document (mapped to a line by the loader)."""

    path: Path
    message: str


class WorkflowInvalid(ValueError):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, i.path))}: {i.message}" for i in issues))
        self.issues = issues


@dataclass(frozen=True, slots=True)
class CompiledRule:
    spec: RuleSpec
    rule: Rule  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    index: int
    definition: Ruleset
    rules: tuple[CompiledRule, ...]

    def accepts(self, entity_subtype: str, event_type: str) -> bool:
        subtype = self.definition.subtype
        return (subtype is None or subtype == entity_subtype) and self.definition.event_type == event_type


@dataclass(frozen=True)
class CompiledWorkflow:
    definition: WorkflowDefinition
    rulesets: tuple[CompiledRuleset, ...]
    _by_event: dict[tuple[str, str], tuple[CompiledRuleset, ...]] = field(repr=False)

    @property
    def version(self) -> str:
        return self.definition.version

    @property
    def name(self) -> str:
        return self.definition.display_name

    def match(
        self, event_name: str, event_type: str, entity_type: str, entity_subtype: str, status: str
    ) -> list[CompiledRuleset]:
        """Every ruleset for this event name, entity type, subtype and status, in the order written."""
        return [
            rs
            for rs in self._by_event.get((event_name, entity_type), ())
            if rs.accepts(entity_subtype, event_type)
            and (not rs.definition.triggers or status in rs.definition.trigger_statuses)
        ]


def compile_workflow(definition: WorkflowDefinition, registry: RuleRegistry) -> CompiledWorkflow:
    """Build rule instances and the matching index, or raise ``WorkflowInvalid`` listing every issue."""
    issues: list[Issue] = []
    rulesets = tuple(_compile_ruleset(definition, i, rs, registry, issues) for i, rs in enumerate(definition.rulesets))
    issues.extend(_duplicates(definition))
    if issues:
        raise WorkflowInvalid(issues)
    by_event: dict[tuple[str, str], list[CompiledRuleset]] = defaultdict(list)
    for rs in rulesets:
        by_event[(rs.definition.name, rs.definition.type)].append(rs)
    return CompiledWorkflow(definition, rulesets, {k: tuple(v) for k, v in by_event.items()})


def _compile_ruleset(
    wf: WorkflowDefinition, index: int, ruleset: Ruleset, registry: RuleRegistry, issues: list[Issue]
) -> CompiledRuleset:
    at: Path = ("rulesets", index)
    declared = wf.declared_statuses(ruleset.type)
    for t, trigger in enumerate(ruleset.triggers):
        if trigger.status not in declared:
            issues.append(Issue((*at, "triggers", t, "status"), _undeclared(trigger.status, ruleset.type)))
    rules = []
    for r, spec in enumerate(ruleset.rules):
        compiled = _compile_rule(spec, (*at, "rules", r), registry, issues)
        if compiled is None:
            continue
        for status in compiled.rule.statuses_referenced():
            if status not in declared:
                issues.append(Issue((*at, "rules", r, "props"), _undeclared(status, ruleset.type)))
        rules.append(compiled)
    return CompiledRuleset(index, ruleset, tuple(rules))


def _compile_rule(spec: RuleSpec, at: Path, registry: RuleRegistry, issues: list[Issue]) -> CompiledRule | None:
    try:
        cls = registry.resolve(spec.name)
    except UnknownRule as exc:
        issues.append(Issue((*at, "name"), str(exc)))
        return None
    try:
        return CompiledRule(spec, cls(cls.Props.model_validate(spec.props)))
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "props"
            issues.append(Issue((*at, "props", *err["loc"]), f"{spec.rule_name} props: {where}: {err['msg']}"))
    except ValueError as exc:
        issues.append(Issue((*at, "props"), f"{spec.rule_name} props: {exc}"))
    return None


def _duplicates(wf: WorkflowDefinition) -> Iterator[Issue]:
    seen: dict[tuple[str, str, str | None, str, str], int] = {}
    for i, rs in enumerate(wf.rulesets):
        for status in rs.trigger_statuses or ("*",):
            key = (rs.name, rs.type, rs.subtype, rs.event_type, status)
            if key in seen:
                yield Issue(
                    ("rulesets", i, "name"),
                    f"duplicate ruleset {rs.name!r} for {rs.type} in status {status}: "
                    f"rulesets[{seen[key]}] already handles it; merge them or change the triggers",
                )
                break
            seen[key] = i


def _undeclared(status: str, entity_type: str) -> str:
    return f"status {status!r} is not declared for {entity_type}; add it to the workflow's statuses"
