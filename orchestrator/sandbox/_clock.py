"""The time limit and the call-depth limit, checked by calls the policy injects into the snippet.

``_tick_()`` runs before every statement of every block (so at least once per loop iteration too) and in
each ``for`` clause of a comprehension; every snippet function and lambda starts with ``_enter_()``. Long C
calls between two checks are bounded by the size limits instead (``_limits``).

Why not ``sys.settrace``: with any trace function installed, CPython 3.11 runs every frame (the guards too)
in its slow tracing mode, about 1.5 us more per loop iteration against 0.06 us per check here; it needs an
extra trick for ``while True: pass`` (a jump to itself emits no line event); CPython drops a trace function
that raises, so a snippet catching the first timeout would run on unwatched; and the host's own tracer
(coverage, a debugger) would be displaced during runs. Here nothing global changes. No threads, no signals:
it works on an asyncio worker's main thread, and runs are re-entrant and thread-safe (state is per run).

The stop is an ``Abort`` (a ``BaseException`` the snippet cannot name): should a snippet still catch it,
its next check raises again."""

from __future__ import annotations

import sys
from collections.abc import Callable
from time import perf_counter

from orchestrator.sandbox._errors import Abort, CodeRuntimeError, CodeTimeout

MAX_CALL_DEPTH = 100
"""Nested calls of snippet functions (recursion included) a run may make."""

Check = Callable[[], None]


def make_checks(code_ids: frozenset[int], time_limit_s: float) -> tuple[Check, Check]:
    """``(tick, enter)`` for one run: ``tick`` checks the deadline, ``enter`` the deadline and the depth."""
    deadline = perf_counter() + time_limit_s

    def timeout() -> Abort:
        return Abort(CodeTimeout, f"the code rule ran longer than its time limit of {time_limit_s * 1000:g} ms")

    def tick() -> None:
        if perf_counter() > deadline:
            raise timeout()

    def enter() -> None:
        if perf_counter() > deadline:
            raise timeout()
        try:
            frame = sys._getframe(MAX_CALL_DEPTH)  # the frame MAX_CALL_DEPTH - 1 calls above the caller
        except ValueError:
            return  # the whole stack is shallower than that
        if id(frame.f_code) in code_ids:
            raise Abort(CodeRuntimeError, f"RecursionError: more than {MAX_CALL_DEPTH} nested calls in a code rule")

    return tick, enter
