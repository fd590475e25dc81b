"""Workflow files: loading (Fluent JSON shape or YAML) with file:line errors, the registry, rule plugins."""

from orchestrator.workflow.errors import FileError, WorkflowLoadError
from orchestrator.workflow.loader import load_workflow_file, load_workflows
from orchestrator.workflow.plugins import RulePluginError, discover_rules
from orchestrator.workflow.registry import WorkflowKey, WorkflowRegistry, version_order

__all__ = [
    "FileError",
    "RulePluginError",
    "WorkflowKey",
    "WorkflowLoadError",
    "WorkflowRegistry",
    "discover_rules",
    "load_workflow_file",
    "load_workflows",
    "version_order",
]
