"""Rule order: as written, except that a rule runs after the rules it names in ``after`` (topological)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence


class OrderingError(ValueError):
    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


def rule_ids(names: Sequence[str], explicit: Sequence[str | None]) -> list[str]:
    """Each rule's id: the one given, else its short name (``SetState``, then ``SetState#2`` …)."""
    seen: dict[str, int] = {}
    ids = []
    for name, given in zip(names, explicit, strict=True):
        if given:
            ids.append(given)
            continue
        seen[name] = seen.get(name, 0) + 1
        ids.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return ids


def topological_order(ids: Sequence[str], after: Sequence[Sequence[str]]) -> list[int]:
    """Indexes in run order: Kahn's algorithm, ties broken by the order written (stable)."""
    position = _positions(ids)
    waits_on = [set() for _ in ids]  # type: list[set[int]]
    for i, names in enumerate(after):
        for name in names:
            if name not in position:
                known = ", ".join(ids) or "none"
                raise OrderingError(f"after: no rule with id {name!r} in this ruleset (ids: {known})", i)
            waits_on[i].add(position[name])
    unblocks: list[list[int]] = [[] for _ in ids]
    for i, deps in enumerate(waits_on):
        for dep in deps:
            unblocks[dep].append(i)
    ready = [i for i, deps in enumerate(waits_on) if not deps]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in unblocks[i]:
            waits_on[j].discard(i)
            if not waits_on[j]:
                heapq.heappush(ready, j)
    if len(order) < len(ids):
        raise _cycle_error(ids, waits_on)
    return order


def _positions(ids: Sequence[str]) -> dict[str, int]:
    position: dict[str, int] = {}
    for i, rule_id in enumerate(ids):
        if rule_id in position:
            raise OrderingError(f"two rules have the id {rule_id!r}; give one of them another `id`", i)
        position[rule_id] = i
    return position


def _cycle_error(ids: Sequence[str], waits_on: list[set[int]]) -> OrderingError:
    start = next(i for i, deps in enumerate(waits_on) if deps)
    path = [start]
    while True:
        nxt = min(waits_on[path[-1]])
        if nxt in path:
            cycle = [*path[path.index(nxt):], nxt]
            break
        path.append(nxt)
    names = " -> ".join(ids[i] for i in reversed(cycle))
    return OrderingError(f"the rules' `after` form a cycle: {names}; remove one of these dependencies", cycle[0])
