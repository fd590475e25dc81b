"""Plain-text rendering for people; every command also has ``--json`` for scripts."""

from __future__ import annotations

from typing import Any

import orjson
import typer

from orchestrator.model import AuditRecord, Entity


def emit_json(data: Any) -> None:
    typer.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def entity_text(entity: Entity) -> str:
    lines = [
        f"{entity.entity_type} {entity.entity_ref}  (retailer {entity.retailer_id}, subtype {entity.entity_subtype})",
        f"  status     {entity.status}",
        f"  version    {entity.version}",
        f"  workflow   {entity.workflow_name} v{entity.workflow_version}",
    ]
    if (entity.root_entity_type, entity.root_entity_ref) != (entity.entity_type, entity.entity_ref):
        lines.append(f"  root       {entity.root_entity_type} {entity.root_entity_ref}")
    lines.append(f"  created    {entity.created_on:%Y-%m-%d %H:%M:%S}" if entity.created_on else "")
    lines.append(f"  updated    {entity.updated_on:%Y-%m-%d %H:%M:%S}" if entity.updated_on else "")
    if entity.attributes:
        lines.append("  attributes")
        width = max(len(k) for k in entity.attributes)
        lines.extend(f"    {k:<{width}}  {orjson.dumps(v).decode()}" for k, v in sorted(entity.attributes.items()))
    return "\n".join(line for line in lines if line)


def audit_line(record: AuditRecord, with_entity: bool = True) -> str:
    at = record.at.strftime("%H:%M:%S.%f")[:-3]
    who = f"{record.entity_type}:{record.entity_ref}  " if with_entity else ""
    took = f" ({record.duration_us}µs)" if record.duration_us is not None else ""
    text = record.message or ""
    return f"{at}  {who}{record.event_name:<24} {record.category.value:<9} {record.status.value:<10} " \
           f"{record.name}{took}{'  ' + text if text else ''}"
