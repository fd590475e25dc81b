"""Compile a snippet once, at workflow load; run it many times."""

from __future__ import annotations

import ast
import decimal
import dis
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from types import CodeType, FunctionType
from typing import Any

from orchestrator.sandbox._actions import split_result
from orchestrator.sandbox._clock import make_checks
from orchestrator.sandbox._errors import Abort, CodeError, CodeRuntimeError, CodeSecurityError
from orchestrator.sandbox._namespace import FORBIDDEN_NAMES, SANDBOX_BUILTINS
from orchestrator.sandbox._output import to_json
from orchestrator.sandbox._policy import Problem, SandboxPolicy, add_ticks
from orchestrator.sandbox._views import freeze

SNIPPET_FUNCTION = "code_rule"
DECIMAL_CONTEXT = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
"""Every run gets a fresh copy, whatever the host's context: results do not depend on the worker."""


def compile_code(
    source: str, filename: str, first_line: int = 1, *, known_names: Iterable[str] | None = None
) -> CompiledCode:
    """Compile ``source`` (a function body: it may ``return``) found at ``filename:first_line``.

    Raises ``CodeError`` for a syntax error and ``CodeSecurityError`` for what code rules may not do, both
    naming the workflow file line. With ``known_names`` (the names the engine passes), reading any other
    name that is not a built-in is a ``CodeError`` too."""
    if first_line < 1:
        raise ValueError("first_line is 1-based")
    body = _parse(source, filename, first_line)
    function = ast.FunctionDef(
        name=SNIPPET_FUNCTION,
        args=ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=body or [ast.Pass()],
        decorator_list=[],
        lineno=first_line,
        col_offset=0,
        end_lineno=max([first_line, *(node.end_lineno or 0 for node in body)]),
        end_col_offset=0,
    )
    module = ast.fix_missing_locations(ast.Module(body=[function], type_ignores=[]))
    policy = SandboxPolicy()
    module = policy.visit(module)
    if policy.problems:
        _raise_first(policy.problems, filename, CodeSecurityError)
    add_ticks(module.body[0])
    ast.fix_missing_locations(module)
    code = _compile(module, filename)
    function_code = next(const for const in code.co_consts if isinstance(const, CodeType))
    codes = tuple(_code_objects(function_code))
    free_names = _check_names(codes, filename, None if known_names is None else frozenset(known_names))
    return CompiledCode(source, filename, first_line, code=function_code, codes=codes, free_names=free_names)


class CompiledCode:
    """A compiled snippet. ``run`` is re-entrant and keeps no state between runs."""

    __slots__ = ("_code", "_code_ids", "_codes", "filename", "first_line", "free_names", "source")

    def __init__(
        self,
        source: str,
        filename: str,
        first_line: int,
        *,
        code: CodeType,
        codes: tuple[CodeType, ...],
        free_names: frozenset[str],
    ) -> None:
        self.source = source
        self.filename = filename
        self.first_line = first_line
        self.free_names = free_names
        """Names the snippet reads that are not built-ins: those the engine must pass."""
        self._code = code
        self._codes = codes  # keeps the code objects, so their ids stay theirs
        self._code_ids = frozenset(id(each) for each in codes)

    def run(self, names: Mapping[str, Any], *, time_limit_s: float = 0.05, max_output_bytes: int = 65536) -> Any:
        """Run with ``names`` visible (read-only views) and return the JSON-normalised value.

        Raises ``CodeTimeout``, ``CodeLimitError``, ``CodeSecurityError`` or ``CodeRuntimeError``, each
        with the workflow file line of the failing statement."""
        scope = self._scope(names)
        scope["_tick_"], scope["_enter_"] = make_checks(self._code_ids, time_limit_s)
        function = FunctionType(self._code, scope)
        previous_context = decimal.getcontext()
        decimal.setcontext(DECIMAL_CONTEXT.copy())
        try:
            result = to_json(function(), max_output_bytes)
        except Abort as abort:
            raise abort.kind(abort.message, self.filename, self._line(abort)) from None
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise CodeRuntimeError(message, self.filename, self._line(exc)) from exc
        finally:
            decimal.setcontext(previous_context)
        try:
            split_result(result)
        except ValueError as exc:
            raise CodeRuntimeError(str(exc), self.filename, self.first_line) from None
        return result

    def _scope(self, names: Mapping[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = {"__builtins__": SANDBOX_BUILTINS}
        for name, value in names.items():
            if not name.isidentifier() or name[:1] == "_":
                raise ValueError(f"{name!r} can't be passed to a code rule: use identifiers not starting with '_'")
            scope[name] = freeze(value)
        return scope

    def _line(self, exc: BaseException) -> int:
        """The innermost snippet line in the traceback; the snippet's first line when there is none."""
        line = self.first_line
        tb = exc.__traceback__
        while tb is not None:
            if id(tb.tb_frame.f_code) in self._code_ids:
                line = tb.tb_lineno
            tb = tb.tb_next
        return line

    def __repr__(self) -> str:
        return f"<CompiledCode {self.filename}:{self.first_line}>"


def _parse(source: str, filename: str, first_line: int) -> list[ast.stmt]:
    try:
        tree = ast.parse(textwrap.dedent(source), filename=filename, mode="exec")
    except SyntaxError as exc:
        raise CodeError(_syntax_message(exc), filename, first_line + (exc.lineno or 1) - 1) from None
    ast.increment_lineno(tree, first_line - 1)
    return tree.body


def _syntax_message(exc: SyntaxError) -> str:
    text = f" in `{exc.text.strip()}`" if exc.text and exc.text.strip() else ""
    return f"invalid Python: {exc.msg}{text}"


def _compile(module: ast.Module, filename: str) -> CodeType:
    try:
        return compile(module, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:  # e.g. 'break' outside loop: found by the compiler, not the parser
        raise CodeError(f"invalid Python: {exc.msg}", filename, exc.lineno) from None


def _code_objects(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _code_objects(const)


def _raise_first(problems: Iterable[Problem], filename: str, kind: type[CodeError]) -> None:
    """The first problem in reading order."""
    ordered = sorted(problems, key=lambda problem: (problem[0] or 0, problem[1]))
    line, _, message = ordered[0]
    if len(ordered) > 1:
        message += f" (and {len(ordered) - 1} more problem(s) in this code)"
    raise kind(message, filename, line)


def _check_names(codes: Iterable[CodeType], filename: str, known: frozenset[str] | None) -> frozenset[str]:
    """Names read from globals: forbidden built-ins fail at load time, so do unknown names if ``known``."""
    free: set[str] = set()
    forbidden: list[Problem] = []
    unknown: list[Problem] = []
    for code in codes:
        for instruction in dis.get_instructions(code):
            if instruction.opname not in ("LOAD_GLOBAL", "LOAD_NAME"):
                continue
            name, where = instruction.argval, _position(instruction)
            if name in FORBIDDEN_NAMES:
                forbidden.append((*where, f"{name}() is not available in code rules: {FORBIDDEN_NAMES[name]}"))
            elif name not in SANDBOX_BUILTINS:
                free.add(name)
                if known is not None and name not in known:
                    unknown.append((*where, f"unknown name {name!r}: code rules see {', '.join(sorted(known))}"))
    if forbidden:
        _raise_first(forbidden, filename, CodeSecurityError)
    if unknown:
        _raise_first(unknown, filename, CodeError)
    return frozenset(free)


def _position(instruction: dis.Instruction) -> tuple[int | None, int]:
    positions = instruction.positions
    if positions is None:
        return None, 0
    return positions.lineno, positions.end_col_offset or 0
