"""The loaded workflows, by (retailerId, entityType, entitySubtype, version)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from orchestrator.engine import CompiledWorkflow

_VERSION_PARTS = re.compile(r"\d+|[^\W\d_]+")


class WorkflowIdentity(NamedTuple):
    retailer_id: str
    entity_type: str
    entity_subtype: str


class WorkflowKey(NamedTuple):
    retailer_id: str
    entity_type: str
    entity_subtype: str
    version: str

    @property
    def identity(self) -> WorkflowIdentity:
        return WorkflowIdentity(self.retailer_id, self.entity_type, self.entity_subtype)

    def __str__(self) -> str:
        return f"{self.retailer_id}/{self.entity_type}/{self.entity_subtype} v{self.version}"


def key_of(workflow: CompiledWorkflow) -> WorkflowKey:
    d = workflow.definition
    return WorkflowKey(d.retailer_id, d.entity_type, d.entity_subtype, d.version)


def version_order(version: str) -> tuple[tuple[int, int, str], ...]:
    """Sort key: numeric parts compare as numbers ("1.10" > "1.9"); a word part sorts below a number
    ("1.1" > "1.rc"); separators do not matter ("1-2" == "1.2")."""
    return tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.lower())
        for part in _VERSION_PARTS.findall(version)
    )


class DuplicateWorkflow(ValueError):
    def __init__(self, key: WorkflowKey) -> None:
        super().__init__(f"workflow {key} is already registered")
        self.key = key


class WorkflowRegistry:
    """Compiled workflows; ``lookup`` gives the pinned version when loaded, else the latest."""

    def __init__(self, workflows: Iterable[CompiledWorkflow | tuple[CompiledWorkflow, str]] = ()) -> None:
        self._workflows: dict[WorkflowKey, CompiledWorkflow] = {}
        self._sources: dict[WorkflowKey, str] = {}
        self._latest: dict[WorkflowIdentity, WorkflowKey] = {}
        # what lookup found, by its arguments as a plain tuple: one dict read per call instead of building a
        # NamedTuple key or two (the worker looks up twice per event); workflows that were not found are not kept
        self._found: dict[tuple[str, str, str, str | None], CompiledWorkflow] = {}
        for item in workflows:
            workflow, source = item if isinstance(item, tuple) else (item, None)
            self.add(workflow, source)

    def add(self, workflow: CompiledWorkflow, source: str | None = None) -> None:
        """Register ``workflow`` (``source`` names the file it came from); a key can be added once."""
        key = key_of(workflow)
        if key in self._workflows:
            raise DuplicateWorkflow(key)
        self._workflows[key] = workflow
        self._found.clear()
        if source is not None:
            self._sources[key] = source
        latest = self._latest.get(key.identity)
        if latest is None or version_order(key.version) > version_order(latest.version):
            self._latest[key.identity] = key

    def lookup(
        self, retailer_id: str, entity_type: str, entity_subtype: str, version: str | None = None
    ) -> CompiledWorkflow | None:
        """The given version if it is loaded, else the latest version; None when there is no such workflow."""
        asked = (retailer_id, entity_type, entity_subtype, version)
        found = self._found.get(asked)
        if found is None:
            found = self._resolve(retailer_id, entity_type, entity_subtype, version)
            if found is not None:
                self._found[asked] = found
        return found

    def _resolve(
        self, retailer_id: str, entity_type: str, entity_subtype: str, version: str | None
    ) -> CompiledWorkflow | None:
        if version is not None:
            pinned = self._workflows.get(WorkflowKey(retailer_id, entity_type, entity_subtype, version))
            if pinned is not None:
                return pinned
        latest = self._latest.get(WorkflowIdentity(retailer_id, entity_type, entity_subtype))
        return self._workflows[latest] if latest is not None else None

    def versions(self, retailer_id: str, entity_type: str, entity_subtype: str) -> list[str]:
        """Loaded versions of one workflow, oldest first."""
        identity = WorkflowIdentity(retailer_id, entity_type, entity_subtype)
        return [key.version for key in self._sorted_keys() if key.identity == identity]

    def source(self, workflow: CompiledWorkflow) -> str | None:
        """The file ``workflow`` was loaded from, when known."""
        return self._sources.get(key_of(workflow))

    def __iter__(self) -> Iterator[CompiledWorkflow]:
        return (self._workflows[key] for key in self._sorted_keys())

    def __len__(self) -> int:
        return len(self._workflows)

    def __contains__(self, key: object) -> bool:
        return key in self._workflows

    def describe_rows(self) -> list[dict[str, Any]]:
        """One row per workflow, camelCase like the files, for listings and JSON output."""
        return [self._row(key) for key in self._sorted_keys()]

    def describe(self) -> str:
        """A listing, one workflow per line."""
        return "\n".join(
            f"{row['retailerId']}/{row['entityType']}/{row['entitySubtype']} v{row['version']}  {row['name']}: "
            f"{row['rulesets']} rulesets, {row['statuses']} statuses"
            + (f" ({row['file']})" if "file" in row else "")
            for row in self.describe_rows()
        )

    def summary(self) -> str:
        """One line naming what is loaded, for error messages."""
        return ", ".join(str(key) for key in self._sorted_keys())

    def _sorted_keys(self) -> list[WorkflowKey]:
        return sorted(self._workflows, key=lambda k: (k.identity, version_order(k.version), k.version))

    def _row(self, key: WorkflowKey) -> dict[str, Any]:
        workflow = self._workflows[key]
        row: dict[str, Any] = {
            "retailerId": key.retailer_id,
            "entityType": key.entity_type,
            "entitySubtype": key.entity_subtype,
            "version": key.version,
            "name": workflow.name,
            "rulesets": len(workflow.rulesets),
            "statuses": len(workflow.definition.statuses),
            "latest": self._latest[key.identity] == key,
        }
        if key in self._sources:
            row["file"] = self._sources[key]
        return row
