"""The pure engine: match an event to rulesets on the entity's status, run rules, decide."""

from orchestrator.engine.compiled import (
    CompiledRuleset,
    CompiledWorkflow,
    Issue,
    WorkflowInvalid,
    compile_workflow,
)
from orchestrator.engine.decision import Decision
from orchestrator.engine.execution import DEFAULT_MAX_INLINE_DEPTH, decide, derived_event_id

__all__ = [
    "DEFAULT_MAX_INLINE_DEPTH",
    "CompiledRuleset",
    "CompiledWorkflow",
    "Decision",
    "Issue",
    "WorkflowInvalid",
    "compile_workflow",
    "decide",
    "derived_event_id",
]
