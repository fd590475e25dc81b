"""Action markers a code rule can return, and how a returned value splits into a result and actions.

The contract (what ``CompiledCode.run`` may return, after JSON normalisation):

- ``None`` -> no result, no actions;
- an action marker, e.g. ``set_status('BOOKED')`` -> no result, that one action;
- a non-empty list made only of action markers -> no result, those actions in order;
- ``{"result": value, "actions": [marker, ...]}`` (exactly these two keys) -> both;
- any other JSON value -> the rule's result (seen by the next rules as ``result`` / ``results``), no actions.

A list that mixes markers with other values is refused: return the ``{"result", "actions"}`` dict instead.

Markers are plain dicts with an ``"action"`` key; the engine translates them into its own actions::

    {"action": "setStatus", "status": "BOOKED"}
    {"action": "setAttributes", "values": {"total": 12.5}}
    {"action": "sendEvent", "name": "Reorder", "attributes": {...}, "eventType": "NORMAL",
     "target": None | {"entityType": "...", "entityRef": "...", "entitySubtype": None | "..."}}
    {"action": "setContext", "values": {"checked": True}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SET_STATUS = "setStatus"
SET_ATTRIBUTES = "setAttributes"
SEND_EVENT = "sendEvent"
SET_CONTEXT = "setContext"
ACTION_KINDS = frozenset({SET_STATUS, SET_ATTRIBUTES, SEND_EVENT, SET_CONTEXT})

Marker = dict[str, Any]


def set_status(status: str) -> Marker:
    """Move the entity to ``status``."""
    _need_text(status, "set_status() needs the status as a non-empty string, e.g. set_status('BOOKED')")
    return {"action": SET_STATUS, "status": status}


def set_attributes(values: Mapping[str, Any] | None = None, /, **more: Any) -> Marker:
    """Set entity attributes: ``set_attributes(total=12.5)`` or ``set_attributes({'total': 12.5})``."""
    return {"action": SET_ATTRIBUTES, "values": _merge("set_attributes", values, more)}


def set_context(values: Mapping[str, Any] | None = None, /, **more: Any) -> Marker:
    """Set keys of the workflow context that later rules read as ``context``."""
    return {"action": SET_CONTEXT, "values": _merge("set_context", values, more)}


def send_event(
    name: str,
    *,
    entity_type: str | None = None,
    entity_ref: str | None = None,
    entity_subtype: str | None = None,
    attributes: Mapping[str, Any] | None = None,
    event_type: str = "NORMAL",
) -> Marker:
    """Send event ``name``: to the same entity (inline) or, with ``entity_type`` and ``entity_ref``, to another."""
    _need_text(name, "send_event() needs the event name as a non-empty string, e.g. send_event('Reorder')")
    _need_text(event_type, "send_event(event_type=...) must be a non-empty string such as 'NORMAL'")
    if (entity_type is None) != (entity_ref is None):
        raise ValueError("send_event(): entity_type and entity_ref go together: give both to target another entity")
    target = None
    if entity_type is not None:
        _need_text(entity_type, "send_event(entity_type=...) must be a non-empty string")
        _need_text(entity_ref, "send_event(entity_ref=...) must be a non-empty string")
        target = {"entityType": entity_type, "entityRef": entity_ref, "entitySubtype": entity_subtype}
    return {
        "action": SEND_EVENT,
        "name": name,
        "attributes": _merge("send_event", attributes, {}, allow_empty=True),
        "eventType": event_type,
        "target": target,
    }


def _need_text(value: object, message: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(message)


def _merge(
    function: str, values: Mapping[str, Any] | None, more: Mapping[str, Any], *, allow_empty: bool = False
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    if values is not None:
        if not isinstance(values, Mapping):
            raise TypeError(f"{function}() takes a dict of values or keyword arguments")
        merged.update(values)
    merged.update(more)
    if not merged and not allow_empty:
        raise ValueError(f"{function}() needs at least one value, e.g. {function}(total=12.5)")
    if not all(isinstance(key, str) for key in merged):
        raise TypeError(f"{function}(): keys must be strings")
    return merged


def is_action(value: object) -> bool:
    return type(value) is dict and value.get("action") in ACTION_KINDS


def split_result(value: Any) -> tuple[Any, list[Marker]]:
    """``(result, actions)`` from what a code rule returned (see the module docstring).

    Raises ``ValueError`` for a malformed marker or a list mixing markers with other values."""
    if value is None:
        return None, []
    if is_action(value):
        return None, [check_marker(value)]
    if isinstance(value, list | tuple) and value:
        flags = [is_action(item) for item in value]
        if all(flags):
            return None, [check_marker(item) for item in value]
        if any(flags):
            raise ValueError(
                "the returned list mixes actions and other values: "
                "return {'result': ..., 'actions': [...]} to return both"
            )
    if type(value) is dict and value.keys() == {"result", "actions"}:
        return value["result"], _actions_list(value["actions"])
    return value, []


def _actions_list(actions: Any) -> list[Marker]:
    if not isinstance(actions, list | tuple):
        raise ValueError("'actions' in the returned {'result', 'actions'} dict must be a list of actions")
    for index, item in enumerate(actions):
        if not is_action(item):
            raise ValueError(
                f"actions[{index}] is not an action: build actions with set_status(), set_attributes(), "
                "send_event() or set_context()"
            )
    return [check_marker(item) for item in actions]


_REQUIRED: dict[str, tuple[tuple[str, type | tuple[type, ...]], ...]] = {
    SET_STATUS: (("status", str),),
    SET_ATTRIBUTES: (("values", dict),),
    SET_CONTEXT: (("values", dict),),
    SEND_EVENT: (("name", str), ("attributes", dict), ("eventType", str), ("target", (dict, type(None)))),
}


def check_marker(marker: Marker) -> Marker:
    """The marker itself when its fields have the right types; ``ValueError`` otherwise."""
    kind = marker["action"]
    for key, expected in _REQUIRED[kind]:
        if not isinstance(marker.get(key), expected):
            raise ValueError(f"malformed {kind} action: {key!r} is missing or has the wrong type")
    target = marker.get("target")
    if (
        kind == SEND_EVENT
        and target is not None
        and not (isinstance(target.get("entityType"), str) and isinstance(target.get("entityRef"), str))
    ):
        raise ValueError("malformed sendEvent action: target needs entityType and entityRef strings")
    return marker
