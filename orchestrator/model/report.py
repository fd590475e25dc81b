"""The execution report of one event: what the audit records of that event add up to.

It is what a manual trigger (``POST /events?sync=true``, ``orchestrator send --sync``) answers with: the
rulesets that matched, the rules they ran (props, actions, result, duration, or why a rule was skipped),
the state before and after, the events sent, the inline events run, and what went wrong.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from orchestrator.model._base import WireModel
from orchestrator.model.audit import Outcome


class StateSnapshot(WireModel):
    status: str
    version: int


class RuleRun(WireModel):
    """A rule of a matched ruleset: run (``SUCCESS``) or skipped because its condition was false."""

    id: str = Field(description="The rule's id (its name unless the workflow gives one).")
    name: str = Field(description="The rule as written in the workflow, e.g. orchestrator.core.SetState.")
    rule: str = Field(description="The rule that ran: the last dotted segment of the name, e.g. SetState.")
    status: Outcome = Outcome.SUCCESS
    skipped: bool = False
    condition: str | None = Field(default=None, description="Why the rule was skipped: its false condition.")
    props: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    result: Any = None
    duration_us: int | None = None
    error: str | None = None


class RulesetRun(WireModel):
    """A ruleset that matched and ran, for the event itself or for one of its inline events."""

    name: str
    index: int | None = Field(default=None, description="Position of the ruleset in the workflow, from 0.")
    message: str = Field(default="", description="How it matched: the status, and an else or a condition.")
    event_id: str
    event_name: str
    inline: bool = Field(default=False, description="True when it ran for an inline event.")
    rules: list[RuleRun] = Field(default_factory=list)


class SentEvent(WireModel):
    event_id: str
    name: str
    inline: bool
    entity_type: str
    entity_ref: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    sent_by: str = Field(description="Id of the event whose rule sent it (the event or an inline one).")


class InlineEvent(WireModel):
    """An event sent to the same entity that ran within the same execution."""

    event_id: str
    name: str
    outcome: Outcome
    message: str = ""


class StateChange(WireModel):
    from_status: str = Field(alias="from")
    to_status: str = Field(alias="to")
    event_id: str
    event_name: str


class ReportError(WireModel):
    """Why the execution stopped (``FAILED``, ``LOOP_LIMIT``) and the last step that had run before it."""

    outcome: Outcome
    message: str
    event_id: str
    event_name: str
    after_ruleset: str | None = Field(default=None, description="The last ruleset that had started.")
    after_rule: str | None = Field(default=None, description="The last rule that had completed.")


class CustomRecord(WireModel):
    """A record a rule wrote on purpose (the Log rule)."""

    name: str
    message: str
    event_id: str
    data: dict[str, Any] = Field(default_factory=dict)


class ExecutionReport(WireModel):
    """One event's execution, built from its audit records (see ``orchestrator.engine.report``)."""

    event_id: str
    event_name: str
    retailer_id: str
    entity_type: str
    entity_ref: str
    root_entity_type: str
    root_entity_ref: str
    outcome: Outcome = Field(description="SUCCESS, NO_MATCH, FAILED or LOOP_LIMIT.")
    message: str = Field(default="", description="The final audit record's message.")
    state_before: StateSnapshot
    state_after: StateSnapshot
    changed: bool = Field(description="Whether a new version of the entity was written.")
    rulesets: list[RulesetRun] = Field(default_factory=list)
    state_changes: list[StateChange] = Field(default_factory=list)
    events_sent: list[SentEvent] = Field(default_factory=list)
    inline_events: list[InlineEvent] = Field(default_factory=list)
    errors: list[ReportError] = Field(default_factory=list)
    custom: list[CustomRecord] = Field(default_factory=list)
    total_duration_us: int = Field(default=0, description="Sum of the durations of the rules that ran.")
    at: datetime = Field(description="When the event was processed.")
