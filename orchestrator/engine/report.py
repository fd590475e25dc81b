"""Building the execution report of one event from its audit records. Pure: no I/O.

The engine writes, for one event, in order: for each matched ruleset a RULESET record, then a RULE record
per rule (SKIPPED when its condition was false), STATE records for status changes, SENT records for events
sent and CUSTOM records written by rules. Inline events (SENT with ``inline``) run afterwards with their own
ids and records, closed by an EVENT record of their own. The execution ends with the event's EVENT record
(statuses and versions before and after) or, when it was abandoned, its EXCEPTION record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.model import AuditRecord, Category, Outcome
from orchestrator.model.report import (
    CustomRecord,
    ExecutionReport,
    InlineEvent,
    ReportError,
    RuleRun,
    RulesetRun,
    SentEvent,
    StateChange,
    StateSnapshot,
)

FINAL_CATEGORIES = (Category.EVENT, Category.EXCEPTION)


def build_report(records: Sequence[AuditRecord], event_id: str) -> ExecutionReport | None:
    """The report of ``event_id`` from an entity's audit records (oldest first; other events' records are
    ignored). None while the event's final EVENT or EXCEPTION record is not among them."""
    end = _final_index(records, event_id)
    if end is None:
        return None
    final = records[end]
    builder = _Builder(event_id)
    for record in _own_records(records[:end], event_id):
        builder.add(record)
    return builder.finish(final)


def _final_index(records: Sequence[AuditRecord], event_id: str) -> int | None:
    for i, record in enumerate(records):
        if record.event_id == event_id and record.category in FINAL_CATEGORIES:
            return i
    return None


def _own_records(records: Sequence[AuditRecord], event_id: str) -> list[AuditRecord]:
    """The event's records and those of the inline events it (transitively) sent, in order."""
    ids = {event_id}
    own: list[AuditRecord] = []
    for record in records:
        if record.event_id not in ids:
            continue
        own.append(record)
        if record.category is Category.SENT and record.data.get("inline"):
            ids.add(str(record.data.get("eventId", "")))
    return own


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _rule_run(record: AuditRecord) -> RuleRun:
    data = record.data
    skipped = record.status is Outcome.SKIPPED
    failed = record.status in (Outcome.FAILED, Outcome.LOOP_LIMIT)
    return RuleRun(
        id=str(data.get("id", _short(record.name))), name=record.name, rule=_short(record.name),
        status=record.status, skipped=skipped, condition=record.message if skipped else None,
        props=dict(data.get("props", {})), actions=list(data.get("actions", [])), result=data.get("result"),
        duration_us=record.duration_us, error=record.message if failed else None,
    )


@dataclass
class _Open:
    """A ruleset whose rules are still being collected."""

    head: RulesetRun
    rules: list[RuleRun] = field(default_factory=list)

    def closed(self) -> RulesetRun:
        return self.head.model_copy(update={"rules": self.rules})


class _Builder:
    """Accumulates the sections of the report record by record."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.rulesets: list[_Open] = []
        self.changes: list[StateChange] = []
        self.sent: list[SentEvent] = []
        self.inline: list[InlineEvent] = []
        self.custom: list[CustomRecord] = []
        self.errors: list[ReportError] = []

    def add(self, record: AuditRecord) -> None:
        handler = _HANDLERS.get(record.category)
        if handler is not None:
            handler(self, record)

    def ruleset(self, record: AuditRecord) -> None:
        index = record.data.get("index")
        self.rulesets.append(_Open(RulesetRun(
            name=record.name, index=index if isinstance(index, int) else None, message=record.message,
            event_id=record.event_id, event_name=record.event_name, inline=record.event_id != self.event_id,
        )))

    def rule(self, record: AuditRecord) -> None:
        if not self.rulesets:  # the ruleset's record was trimmed from the stream: keep the rule visible
            self.rulesets.append(_Open(RulesetRun(name="?", event_id=record.event_id, event_name=record.event_name,
                                                  inline=record.event_id != self.event_id)))
        self.rulesets[-1].rules.append(_rule_run(record))

    def state(self, record: AuditRecord) -> None:
        data = record.data
        self.changes.append(StateChange(
            from_status=str(data.get("from", "")), to_status=str(data.get("to", record.name)),
            event_id=record.event_id, event_name=record.event_name,
        ))

    def send(self, record: AuditRecord) -> None:
        data = record.data
        self.sent.append(SentEvent(
            event_id=str(data.get("eventId", "")), name=record.name, inline=bool(data.get("inline")),
            entity_type=str(data.get("entityType", record.entity_type)),
            entity_ref=str(data.get("entityRef", record.entity_ref)),
            attributes=dict(data.get("attributes") or {}), sent_by=record.event_id,
        ))

    def event(self, record: AuditRecord) -> None:
        self.inline.append(InlineEvent(event_id=record.event_id, name=record.event_name, outcome=record.status,
                                       message=record.message))

    def note(self, record: AuditRecord) -> None:
        self.custom.append(CustomRecord(name=record.name, message=record.message, event_id=record.event_id,
                                        data=dict(record.data)))

    def exception(self, record: AuditRecord) -> None:
        last_ruleset = self.rulesets[-1] if self.rulesets else None
        last_rule = next((r for r in reversed(last_ruleset.rules) if not r.skipped), None) if last_ruleset else None
        self.errors.append(ReportError(
            outcome=record.status, message=record.message, event_id=record.event_id, event_name=record.event_name,
            after_ruleset=last_ruleset.head.name if last_ruleset else None,
            after_rule=last_rule.id if last_rule else None,
        ))

    def finish(self, final: AuditRecord) -> ExecutionReport:
        if final.category is Category.EXCEPTION:
            self.exception(final)
        before, after = _states(final.data)
        rulesets = [open_ruleset.closed() for open_ruleset in self.rulesets]
        return ExecutionReport(
            event_id=final.event_id, event_name=final.event_name, retailer_id=final.retailer_id,
            entity_type=final.entity_type, entity_ref=final.entity_ref, root_entity_type=final.root_entity_type,
            root_entity_ref=final.root_entity_ref, outcome=final.status, message=final.message,
            state_before=before, state_after=after, changed=after.version != before.version,
            rulesets=rulesets, state_changes=self.changes, events_sent=self.sent, inline_events=self.inline,
            errors=self.errors, custom=self.custom, at=final.at,
            total_duration_us=sum(r.duration_us or 0 for rs in rulesets for r in rs.rules),
        )


def _states(data: dict[str, Any]) -> tuple[StateSnapshot, StateSnapshot]:
    status_before = str(data.get("statusBefore", ""))
    version_before = int(data.get("versionBefore", 0))
    before = StateSnapshot(status=status_before, version=version_before)
    after = StateSnapshot(status=str(data.get("statusAfter", status_before)),
                          version=int(data.get("versionAfter", version_before)))
    return before, after


_HANDLERS = {
    Category.RULESET: _Builder.ruleset,
    Category.RULE: _Builder.rule,
    Category.STATE: _Builder.state,
    Category.SENT: _Builder.send,
    Category.EVENT: _Builder.event,
    Category.CUSTOM: _Builder.note,
    Category.EXCEPTION: _Builder.exception,
}
