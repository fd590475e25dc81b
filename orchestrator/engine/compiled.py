"""A workflow definition turned into rule instances, compiled conditions and a matching index, checked whole."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from orchestrator.conditions import Condition, ConditionSyntaxError, Evaluator, compile_condition
from orchestrator.engine.ordering import OrderingError, rule_ids, topological_order
from orchestrator.model import Ruleset, RuleSpec, WorkflowDefinition
from orchestrator.rules import Action, Rule, RuleContext, RuleRegistry, UnknownRule

Path = tuple[str | int, ...]
MATCH_CACHE_SIZE = 4096


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
    id: str
    spec: RuleSpec
    rule: Rule  # type: ignore[type-arg]
    condition: Condition | None = None
    # Derived once here so the engine's per-event path only reads attributes.
    check: Evaluator | None = field(init=False)
    run: Callable[[RuleContext], Sequence[Action]] = field(init=False)
    name: str = field(init=False)
    props_json: dict[str, Any] = field(init=False)
    skipped_message: str = field(init=False)
    skipped_data: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        derived = {
            "check": self.condition.evaluator if self.condition is not None else None,
            "run": self.rule.run, "name": self.spec.name, "props_json": self.rule.props_json(),
            "skipped_message": f"condition {self.spec.condition!r} is false", "skipped_data": {"id": self.id},
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    index: int
    definition: Ruleset
    rules: tuple[CompiledRule, ...]
    condition: Condition | None = None
    statuses: frozenset[str] | None = None  # the trigger statuses; None: any status
    check: Evaluator | None = field(init=False)
    is_else: bool = field(init=False)
    how: str = field(init=False)  # why it matched, for its audit record: "" or " (else)" / " (condition …)"
    audit_data: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        d = self.definition
        how = "else" if d.is_else else f"condition {d.condition!r}" if d.condition else ""
        derived = {
            "check": self.condition.evaluator if self.condition is not None else None, "is_else": d.is_else,
            "how": f" ({how})" if how else "",
            "audit_data": {"index": self.index, "type": d.type, "subtype": d.subtype},
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)

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

    @property
    def event_source(self) -> str:
        """The ``source`` of the events this workflow sends."""
        return self._event_source

    def __post_init__(self) -> None:
        object.__setattr__(self, "_event_source", f"workflow:{self.definition.display_name}")

    _event_source: str = field(init=False, repr=False, default="")

    _joining: frozenset[str] = field(default=frozenset(), repr=False)

    @property
    def needs_children(self) -> bool:
        return bool(self._joining)

    def joins_on(self, event_name: str) -> bool:
        """Can this event (directly or through inline events) reach a rule that reads the children?"""
        return event_name in self._joining

    _matches: dict[tuple[str, str, str, str, str], tuple[CompiledRuleset, ...]] = field(
        default_factory=dict, repr=False, compare=False)

    def match(
        self, event_name: str, event_type: str, entity_type: str, entity_subtype: str, status: str
    ) -> tuple[CompiledRuleset, ...]:
        """Rulesets for this event name, entity type, subtype and status, in the order written — before their
        conditions are evaluated (else rulesets included; the engine decides between them). Memoised: the
        answer depends on these five values only."""
        key = (event_name, event_type, entity_type, entity_subtype, status)
        found = self._matches.get(key)
        if found is None:
            found = tuple(
                rs
                for rs in self._by_event.get((event_name, entity_type), ())
                if (rs.statuses is None or status in rs.statuses) and rs.accepts(entity_subtype, event_type)
            )
            if found and len(self._matches) < MATCH_CACHE_SIZE:  # names of unknown events are not kept
                self._matches[key] = found
        return found


def compile_workflow(definition: WorkflowDefinition, registry: RuleRegistry) -> CompiledWorkflow:
    """Build rule instances, conditions and the matching index, or raise ``WorkflowInvalid`` listing every issue."""
    issues: list[Issue] = []
    rulesets = tuple(
        _compile_ruleset(definition, i, rs, registry, issues) for i, rs in enumerate(definition.rulesets)
    )
    issues.extend(_duplicates(definition))
    if issues:
        raise WorkflowInvalid(issues)
    by_event: dict[tuple[str, str], list[CompiledRuleset]] = defaultdict(list)
    for rs in rulesets:
        by_event[(rs.definition.name, rs.definition.type)].append(rs)
    return CompiledWorkflow(definition, rulesets, {k: tuple(v) for k, v in by_event.items()}, _joining(rulesets))


def _joining(rulesets: tuple[CompiledRuleset, ...]) -> frozenset[str]:
    """Event names whose rulesets reach a children-reading rule, directly or via inline events (a rule that
    cannot name its inline events, like code, is assumed to reach every ruleset)."""
    direct = {rs.definition.name for rs in rulesets if any(getattr(r.rule, "needs_children", False) for r in rs.rules)}
    if not direct:
        return frozenset()
    sends: dict[str, set[str] | None] = {}
    for rs in rulesets:
        known = sends.setdefault(rs.definition.name, set())
        for r in rs.rules:
            names = r.rule.inline_events()
            if names is None or known is None:
                sends[rs.definition.name] = known = None
            else:
                known.update(names)
    joining = set(direct)
    while True:
        grown = {name for name, targets in sends.items() if targets is None or targets & joining} | joining
        if grown == joining:
            return frozenset(joining)
        joining = grown


def _compile_ruleset(
    wf: WorkflowDefinition, index: int, ruleset: Ruleset, registry: RuleRegistry, issues: list[Issue]
) -> CompiledRuleset:
    at: Path = ("rulesets", index)
    declared = wf.declared_statuses(ruleset.type)
    for t, trigger in enumerate(ruleset.triggers):
        if trigger.status not in declared:
            issues.append(Issue((*at, "triggers", t, "status"), _undeclared(trigger.status, ruleset.type)))
    if ruleset.is_else and ruleset.condition:
        issues.append(Issue((*at, "condition"), "an else ruleset cannot also have a condition; remove one"))
    condition = _condition(ruleset.condition, (*at, "condition"), issues)
    ids = rule_ids([s.rule_name for s in ruleset.rules], [s.id for s in ruleset.rules])
    rules: list[CompiledRule | None] = []
    for r, spec in enumerate(ruleset.rules):
        compiled = _compile_rule(spec, ids[r], (*at, "rules", r), registry, issues)
        if compiled is not None:
            _check_statuses(compiled, declared, ruleset.type, (*at, "rules", r), issues)
        rules.append(compiled)
    ordered = _ordered(ruleset.rules, ids, rules, at, issues)
    statuses = frozenset(ruleset.trigger_statuses) if ruleset.triggers else None
    return CompiledRuleset(index, ruleset, ordered, condition, statuses)


def _ordered(
    specs: list[RuleSpec], ids: list[str], rules: list[CompiledRule | None], at: Path, issues: list[Issue]
) -> tuple[CompiledRule, ...]:
    try:
        order = topological_order(ids, [s.after for s in specs])
    except OrderingError as exc:
        field_name = "after" if "after" in str(exc) else "id"
        issues.append(Issue((*at, "rules", exc.position, field_name), str(exc)))
        return ()
    return tuple(rule for rule in (rules[i] for i in order) if rule is not None)


def _condition(text: str | None, at: Path, issues: list[Issue]) -> Condition | None:
    if not text:
        return None
    try:
        return compile_condition(text)
    except ConditionSyntaxError as exc:
        issues.append(Issue(at, exc.render()))
        return None


def _compile_rule(
    spec: RuleSpec, rule_id: str, at: Path, registry: RuleRegistry, issues: list[Issue]
) -> CompiledRule | None:
    condition = _condition(spec.condition, (*at, "condition"), issues)
    try:
        cls = registry.resolve(spec.name)
    except UnknownRule as exc:
        issues.append(Issue((*at, "name"), str(exc)))
        return None
    try:
        return CompiledRule(rule_id, spec, cls(cls.Props.model_validate(spec.props)), condition)
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "props"
            message = err["msg"].removeprefix("Value error, ")
            issues.append(Issue((*at, "props", *err["loc"]), f"{spec.rule_name} props: {where}: {message}"))
    except ValueError as exc:
        issues.append(Issue((*at, "props"), f"{spec.rule_name} props: {exc}"))
    return None


def _check_statuses(
    compiled: CompiledRule, declared: frozenset[str], entity_type: str, at: Path, issues: list[Issue]
) -> None:
    for status in compiled.rule.statuses_referenced():
        if status not in declared:
            issues.append(Issue((*at, "props"), _undeclared(status, entity_type)))


def _duplicates(wf: WorkflowDefinition) -> Iterator[Issue]:
    """Two unconditional rulesets for one event and status, or two else rulesets in one group, are errors."""
    plain: dict[tuple[str, str, str | None, str, str], int] = {}
    elses: dict[tuple[str, str, str | None, str, str], int] = {}
    for i, rs in enumerate(wf.rulesets):
        if rs.condition and not rs.is_else:
            continue
        seen = elses if rs.is_else else plain
        for status in rs.trigger_statuses or ("*",):
            key = (rs.name, rs.type, rs.subtype, rs.event_type, status)
            if key in seen:
                kind = "else ruleset" if rs.is_else else "ruleset"
                yield Issue(
                    ("rulesets", i, "name"),
                    f"duplicate {kind} {rs.name!r} for {rs.type} in status {status}: rulesets[{seen[key]}] "
                    "already handles it; merge them, change the triggers or give one a condition",
                )
                break
            seen[key] = i


def _undeclared(status: str, entity_type: str) -> str:
    return f"status {status!r} is not declared for {entity_type}; add it to the workflow's statuses"
