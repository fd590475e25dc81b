"""The worker's HTTP API, on the Faust web server (aiohttp underneath), JSON in and out; ``openapi.yaml``
at the repository root describes it.

- ``GET  /workflows``                                    the loaded workflows
- ``GET  /workflows/{retailer}/{type}/{subtype}``        one definition (latest, or ``?version=``)
- ``POST /events``                                       publish an event; ``?sync=true`` waits for its report
- ``GET  /entities/{retailer}/{type}/{ref}``             an entity's state (``?root=TYPE:REF`` for a child)
- ``GET  /entities/{retailer}/{type}/{ref}/audit``       its audit trail (``?limit=``)

Every error is ``{"error": "<what is wrong and how to fix it>"}`` with a 4xx (5xx when the worker or a server
it needs is at fault).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

import faust
import orjson
import structlog
from aiokafka.errors import KafkaError
from faust.web import View
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from orchestrator.adapters.redis_store import audit_records
from orchestrator.app.settings import Settings
from orchestrator.engine.report import build_report
from orchestrator.model import AuditRecord, Entity, EntityKey, Event, RootKey
from orchestrator.model.report import ExecutionReport
from orchestrator.ports import Record, Workflows
from orchestrator.workflow.registry import WorkflowRegistry

if TYPE_CHECKING:
    from orchestrator.app.worker import Runtime

log = structlog.get_logger("orchestrator.api")
DEFAULT_SYNC_TIMEOUT_S = 10.0
MAX_SYNC_TIMEOUT_S = 60.0
DEFAULT_AUDIT_LIMIT = 1000
MAX_AUDIT_LIMIT = 10_000
EXAMPLE_EVENT = ('{"name": "CREATE", "retailerId": "1", "entityType": "ORDER", "entitySubtype": "HD", '
                 '"entityRef": "O-1", "attributes": {}}')
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no", "")

Json = dict[str, Any]
Reply = tuple[int, Any]
Params = Mapping[str, str]
Handler = Callable[[Any, Params], Awaitable[Reply]]


class ApiError(Exception):
    """A request that cannot be served; ``body`` is ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: Json = {"error": message, **extra}


# --- reading requests ---------------------------------------------------------------------------------------


def parse_event(body: bytes) -> Event:
    """The request body as an Event (a missing id gets a new UUID), or a 400 saying what is wrong."""
    if not body.strip():
        raise ApiError(400, f"the request body is empty; send one event as a JSON object, e.g. {EXAMPLE_EVENT}")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"the request body is not JSON ({exc}); send one event as a JSON object") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"the event must be a JSON object, got a JSON {type(data).__name__}")
    if data.get("id") in (None, ""):
        data["id"] = str(uuid.uuid4())
    try:
        return Event.model_validate(data)
    except ValidationError as exc:
        fields = [{"field": ".".join(str(p) for p in e["loc"]) or "event", "message": e["msg"]} for e in exc.errors()]
        problems = "; ".join(f"{f['field']}: {f['message'].lower()}" for f in fields)
        raise ApiError(400, f"invalid event: {problems}. Required: name, retailerId, entityType, entityRef "
                            "(and entitySubtype for a new entity)", fields=fields) from None


def query_flag(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "").strip().lower()
    if raw in TRUE or raw in FALSE:
        return raw in TRUE
    raise ApiError(400, f"?{name}={query.get(name)!r} is not a flag; use ?{name}=true or ?{name}=false")


def query_number(query: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """``?name=`` as a number in (``low``, ``high``], else a 400 naming the range."""
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low < value <= high:  # NaN fails too
        raise ApiError(400, f"?{name}={raw!r} is out of range: give a number of more than {low:g} and at most "
                            f"{high:g}")
    return value


def query_int(query: Mapping[str, str], name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or not 0 < int(raw) <= high:
        raise ApiError(400, f"?{name}={raw!r} is out of range: give a whole number from 1 to {high}")
    return int(raw)


def parse_root(retailer: str, raw: str) -> RootKey:
    root_type, sep, root_ref = raw.partition(":")
    if not sep or not root_type or not root_ref:
        raise ApiError(400, f"?root={raw!r} must look like TYPE:REF, e.g. ?root=ORDER:O-1 (the child's root entity)")
    return RootKey(retailer, root_type, root_ref)


# --- waiting for an execution -------------------------------------------------------------------------------


async def stream_end(redis: Redis, stream: str) -> bytes:
    """The id of the stream's last entry (``0-0`` when empty): everything after it is new."""
    last = cast(list[tuple[bytes, Any]], await redis.xrevrange(stream, count=1))
    return last[0][0] if last else b"0-0"


async def wait_for_report(redis: Redis, stream: str, event_id: str, after: bytes,
                          timeout: float) -> ExecutionReport | None:
    """Block-read the entity's audit stream from ``after`` until ``event_id``'s final record is there (then
    its report) or ``timeout`` seconds passed (then None)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    records: list[AuditRecord] = []
    while (remaining := deadline - loop.time()) > 0:
        reply = cast(list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]],
                     await redis.xread({stream: after}, count=1000, block=max(1, int(remaining * 1000))))
        entries = [entry for _, batch in reply or () for entry in batch]
        if not entries:
            continue
        after = entries[-1][0]
        records.extend(record for _, fields in entries for record in audit_records(fields))
        report = build_report(records, event_id)
        if report is not None:
            return report
    return None


# --- the endpoints ------------------------------------------------------------------------------------------


class Api:
    """The endpoints, as ``(request, path params) -> (status, JSON body)``; :func:`install_api` binds them."""

    def __init__(self, settings: Settings, runtime: Runtime, workflows: Workflows) -> None:
        self.settings = settings
        self.runtime = runtime
        self.workflows = workflows

    @property
    def registry(self) -> WorkflowRegistry:
        if not isinstance(self.workflows, WorkflowRegistry):
            raise ApiError(501, "this worker's workflows are not a WorkflowRegistry, so they cannot be listed")
        return self.workflows

    async def list_workflows(self, request: Any, params: Params) -> Reply:
        return 200, {"workflows": self.registry.describe_rows()}

    async def get_workflow(self, request: Any, params: Params) -> Reply:
        registry = self.registry
        retailer, entity_type, subtype = params["retailer"], params["type"], params["subtype"]
        versions = registry.versions(retailer, entity_type, subtype)
        if not versions:
            raise ApiError(404, f"no workflow for retailer {retailer!r}, entity type {entity_type!r}, subtype "
                                f"{subtype!r}; loaded: {registry.summary() or 'none'}. GET /workflows lists them")
        version = request.query.get("version")
        if version is not None and version not in versions:
            raise ApiError(404, f"version {version!r} of {retailer}/{entity_type}/{subtype} is not loaded; loaded "
                                f"versions: {', '.join(versions)}")
        workflow = registry.lookup(retailer, entity_type, subtype, version)
        assert workflow is not None
        return 200, {
            "workflow": workflow.definition.model_dump(mode="json", by_alias=True, exclude_none=True),
            "version": workflow.version, "versions": versions, "latest": versions[-1],
            "file": registry.source(workflow),
        }

    async def post_event(self, request: Any, params: Params) -> Reply:
        sync = query_flag(request.query, "sync")
        timeout = query_number(request.query, "timeout", DEFAULT_SYNC_TIMEOUT_S, 0, MAX_SYNC_TIMEOUT_S)
        event = parse_event(await request.read())
        self.check_workflow(event)
        if sync:
            return await self.run_sync(event, timeout)
        await self.publish(event)
        return 202, {"eventId": event.id, "topic": self.settings.events_topic}

    def check_workflow(self, event: Event) -> None:
        subtype = event.entity_subtype
        if subtype and self.workflows.lookup(event.retailer_id, event.entity_type, subtype) is None:
            raise ApiError(422, f"no workflow for retailer {event.retailer_id!r}, entity type {event.entity_type!r}, "
                                f"subtype {subtype!r} (loaded: {self.workflows.summary() or 'none'}); the worker "
                                "would dead-letter this event. Send an entitySubtype that has a workflow, or add "
                                "a workflow file for it")

    async def publish(self, event: Event) -> None:
        topic = self.settings.events_topic
        try:
            await self.runtime.publisher.publish([Record(topic, event.partition_key, event.to_json())])
        except RuntimeError as exc:  # the producer starts with the worker's agent
            raise ApiError(503, f"the worker is still starting ({exc}); retry once GET /health answers 200") from None
        except KafkaError as exc:
            raise ApiError(503, f"could not publish to {topic}: {type(exc).__name__}: {exc}; is the broker at "
                                f"{self.settings.kafka_bootstrap} up?") from None

    async def run_sync(self, event: Event, timeout: float) -> Reply:
        store = self.runtime.store
        [entity] = await store.load([event.entity_key], [event.root_key])
        if entity is None and not event.entity_subtype:
            raise ApiError(422, f"{event.entity_type} {event.entity_ref!r} (retailer {event.retailer_id!r}, root "
                                f"{event.root_entity_type}:{event.root_entity_ref}) is not in the store and the "
                                "event has no entitySubtype, so no workflow can be chosen: add entitySubtype, or "
                                "rootEntityType/rootEntityRef if the entity is a child")
        stream = store.keys.audit(event.root_key, event.entity_key)
        [applied_before] = await store.seen([(event.root_key, event.id)])
        after = b"0-0" if applied_before else await store.answer(stream_end(store.redis, stream), "XREVRANGE")
        await self.publish(event)
        report = await store.answer(wait_for_report(store.redis, stream, event.id, after, timeout),
                                    f"the audit stream's read (XREAD) for {event.id}", wait_s=timeout)
        if report is None:
            raise ApiError(504, self.not_recorded(event, timeout), eventId=event.id,
                           topic=self.settings.events_topic)
        return 200, report.model_dump(mode="json", by_alias=True)

    def not_recorded(self, event: Event, timeout: float) -> str:
        root = "" if event.root_key.tag == ":".join(event.entity_key) else \
            f" --root {event.root_entity_type}:{event.root_entity_ref}"
        return (f"event {event.id} was published to {self.settings.events_topic}, but no execution of it was "
                f"recorded on {event.entity_type} {event.entity_ref!r} within {timeout:g}s. It may have been "
                "dead-lettered: check `orchestrator dlq`; or no worker consumes: check GET /health and the worker "
                f"logs. Once processed, it shows in `orchestrator audit {event.entity_type} {event.entity_ref} "
                f"--retailer {event.retailer_id}{root}` (GET /entities/{event.retailer_id}/{event.entity_type}/"
                f"{event.entity_ref}/audit)")

    async def get_entity(self, request: Any, params: Params) -> Reply:
        key = EntityKey(params["retailer"], params["type"], params["ref"])
        found = await self.find_entity(key, request.query.get("root"))
        if found is None:
            raise ApiError(404, self.unknown(key, request.query.get("root")))
        return 200, found.model_dump(mode="json", by_alias=True)

    async def get_audit(self, request: Any, params: Params) -> Reply:
        key = EntityKey(params["retailer"], params["type"], params["ref"])
        limit = query_int(request.query, "limit", DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT)
        raw_root = request.query.get("root")
        found = await self.find_entity(key, raw_root)
        root = found.root_key if found else parse_root(key.retailer_id, raw_root) if raw_root else RootKey(*key)
        records = await self.runtime.store.audit(key, root, limit)
        if not records:
            raise ApiError(404, self.unknown(key, raw_root))
        return 200, {"retailerId": key.retailer_id, "entityType": key.entity_type, "entityRef": key.entity_ref,
                     "rootEntityType": root.entity_type, "rootEntityRef": root.entity_ref,
                     "records": [r.model_dump(mode="json", by_alias=True) for r in records]}

    async def find_entity(self, key: EntityKey, raw_root: str | None) -> Entity | None:
        """Under the given root; else as its own root; else wherever the keyspace has it."""
        store = self.runtime.store
        root = parse_root(key.retailer_id, raw_root) if raw_root is not None else RootKey(*key)
        [found] = await store.load([key], [root])
        if found is not None or raw_root is not None:
            return found
        located = await store.locate(key)
        return None if located is None else (await store.load([key], [located]))[0]

    @staticmethod
    def unknown(key: EntityKey, raw_root: str | None) -> str:
        where = f" under root {raw_root}" if raw_root else ""
        return (f"no {key.entity_type} {key.entity_ref!r} for retailer {key.retailer_id!r}{where}: check the type, "
                "ref and retailer (they are case-sensitive)" + ("; is the root right?" if raw_root else ""))


# --- binding to Faust ---------------------------------------------------------------------------------------


async def respond(view: View, handler: Handler, request: Any, params: Params) -> Any:
    try:
        status, body = await handler(request, params)
    except ApiError as exc:
        status, body = exc.status, exc.body
    except (RedisConnectionError, RedisTimeoutError) as exc:  # the store's errors say what and where to look
        status, body = 503, {"error": str(exc)}
    except Exception as exc:
        log.exception("api_error", path=str(request.path), method=request.method)
        status, body = 500, {"error": f"internal error: {type(exc).__name__}: {exc}; see the worker's log"}
    return view.json(body, status=status)


def make_view(name: str, methods: Mapping[str, Handler]) -> type[View]:
    """A Faust view class whose ``get``/``post`` call the given handlers."""

    def bind(handler: Handler) -> Callable[..., Awaitable[Any]]:
        async def method(self: View, request: Any, **params: str) -> Any:
            return await respond(self, handler, request, params)

        return method

    return type(name, (View,), {verb: bind(handler) for verb, handler in methods.items()})


def install_api(app: faust.App, settings: Settings, runtime: Runtime, workflows: Workflows) -> Api:
    """Add the API's views to the worker's web server (``ORCH_HTTP_HOST``:``ORCH_HTTP_PORT``)."""
    api = Api(settings, runtime, workflows)
    routes: dict[str, tuple[str, dict[str, Handler]]] = {
        "/workflows": ("api_workflows", {"get": api.list_workflows}),
        "/workflows/{retailer}/{type}/{subtype}": ("api_workflow", {"get": api.get_workflow}),
        "/events": ("api_events", {"post": api.post_event}),
        "/entities/{retailer}/{type}/{ref}": ("api_entity", {"get": api.get_entity}),
        "/entities/{retailer}/{type}/{ref}/audit": ("api_entity_audit", {"get": api.get_audit}),
    }
    for path, (name, methods) in routes.items():
        app.page(path, name=name)(make_view(name, methods))
    return api
