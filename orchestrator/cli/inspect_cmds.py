"""`orchestrator entity` and `orchestrator audit`: read an entity's state and audit trail from Redis."""

from __future__ import annotations

import asyncio

import typer

from orchestrator.adapters.redis_store import RedisStore
from orchestrator.app.settings import Settings
from orchestrator.cli.render import audit_line, emit_json, entity_text
from orchestrator.model import AuditRecord, Entity, EntityKey, RootKey

RETAILER = typer.Option(..., "--retailer", "-r", help="Retailer id of the entity.")
ROOT = typer.Option(None, "--root", help="Root entity as TYPE:REF when the entity is a child (e.g. ORDER:O-1).")
AS_JSON = typer.Option(False, "--json", help="Machine-readable JSON output.")


def parse_root(retailer: str, entity_type: str, ref: str, root: str | None) -> RootKey:
    if root is None:
        return RootKey(retailer, entity_type, ref)
    root_type, sep, root_ref = root.partition(":")
    if not sep or not root_type or not root_ref:
        raise typer.BadParameter(f"--root must look like TYPE:REF, e.g. ORDER:O-1 (got {root!r})")
    return RootKey(retailer, root_type, root_ref)


async def _read_entity(settings: Settings, key: EntityKey, root: RootKey | None) -> Entity | None:
    store = RedisStore.from_url(settings.redis_url, prefix=settings.key_prefix, timeout_s=settings.redis_timeout_s)
    try:
        resolved = root or await store.locate(key) or RootKey(*key)
        return (await store.load([key], [resolved]))[0]
    finally:
        await store.close()


async def _read_audit(settings: Settings, key: EntityKey, root: RootKey | None, limit: int) -> list[AuditRecord]:
    store = RedisStore.from_url(settings.redis_url, prefix=settings.key_prefix, timeout_s=settings.redis_timeout_s)
    try:
        resolved = root or await store.locate(key) or RootKey(*key)
        return await store.audit(key, resolved, limit)
    finally:
        await store.close()


def entity(
    entity_type: str = typer.Argument(..., help="Entity type, e.g. ORDER."),
    ref: str = typer.Argument(..., help="Entity ref, e.g. O-1001."),
    retailer: str = RETAILER,
    root: str | None = ROOT,
    as_json: bool = AS_JSON,
) -> None:
    """Show an entity's current status, version and attributes."""
    key = EntityKey(retailer, entity_type, ref)
    root_key = parse_root(retailer, entity_type, ref, root) if root else None
    found = asyncio.run(_read_entity(Settings(), key, root_key))
    if found is None:
        typer.echo(f"no {entity_type} {ref!r} for retailer {retailer!r} in the store "
                   "(check the ref and retailer; a child entity may need --root TYPE:REF)", err=True)
        raise typer.Exit(1)
    if as_json:
        emit_json(found.model_dump(mode="json", by_alias=True))
    else:
        typer.echo(entity_text(found))


def audit(
    entity_type: str = typer.Argument(..., help="Entity type, e.g. ORDER."),
    ref: str = typer.Argument(..., help="Entity ref."),
    retailer: str = RETAILER,
    root: str | None = ROOT,
    limit: int = typer.Option(1000, help="Most records to show (oldest first)."),
    as_json: bool = AS_JSON,
) -> None:
    """Show an entity's audit trail: every event, ruleset, rule and state change, oldest first."""
    key = EntityKey(retailer, entity_type, ref)
    root_key = parse_root(retailer, entity_type, ref, root) if root else None
    records = asyncio.run(_read_audit(Settings(), key, root_key, limit))
    if as_json:
        emit_json([r.model_dump(mode="json", by_alias=True) for r in records])
        return
    if not records:
        typer.echo(f"no audit records for {entity_type} {ref!r} (retailer {retailer!r})", err=True)
        raise typer.Exit(1)
    for record in records:
        typer.echo(audit_line(record, with_entity=False))
