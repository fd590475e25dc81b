"""The pure engine: match an event to rulesets on the entity's status, run rules, decide."""

from orchestrator.engine.compiled import (
    CompiledRuleset,
    CompiledWorkflow,
    Issue,
    WorkflowInvalid,
    compile_workflow,
)
from orchestrator.engine.decision import ChildLink, Decision
from orchestrator.engine.effects import derived_event_id
from orchestrator.engine.execution import DEFAULT_MAX_INLINE_DEPTH, decide

__all__ = [
    "DEFAULT_MAX_INLINE_DEPTH",
    "ChildLink",
    "CompiledRuleset",
    "CompiledWorkflow",
    "Decision",
    "Issue",
    "WorkflowInvalid",
    "compile_workflow",
    "decide",
    "derived_event_id",
]
