"""The domain model: events, entities, workflows and audit records. Pure data, no I/O."""

from orchestrator.model.audit import AuditRecord, Category, Outcome, read_audit_message
from orchestrator.model.audit_entry import AuditEntry, AuditHead, audit_message
from orchestrator.model.entity import INITIAL_STATUS, Entity
from orchestrator.model.event import NORMAL, Event
from orchestrator.model.identity import EntityKey, RootKey
from orchestrator.model.workflow import Ruleset, RuleSpec, StatusDef, Trigger, WorkflowDefinition

__all__ = [
    "INITIAL_STATUS",
    "NORMAL",
    "AuditEntry",
    "AuditHead",
    "AuditRecord",
    "Category",
    "Entity",
    "EntityKey",
    "Event",
    "Outcome",
    "RootKey",
    "RuleSpec",
    "Ruleset",
    "StatusDef",
    "Trigger",
    "WorkflowDefinition",
    "audit_message",
    "read_audit_message",
]
