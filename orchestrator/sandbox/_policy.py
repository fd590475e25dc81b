# ruff: noqa: N802  (ast.NodeTransformer dispatches on visit_<NodeName>)
"""The compile-time policy: RestrictedPython's rules, a few more refusals, and rewrites that route size-sensitive
operations through the guards in ``_limits`` and put the time and depth checks of ``_clock`` into every loop,
comprehension, function and lambda."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

_BINOP_GUARDS: dict[type[ast.operator], str] = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}
_DYNAMIC = "code rules cannot run code built at run time"
_NO_IMPORT = (
    "import statements are not allowed in code rules: math, decimal, Decimal, datetime, date, timedelta and "
    "timezone are available without importing, and nothing else can be imported"
)

Problem = tuple[int | None, int, str]
"""(line, end column, message): sorting by where a node ends puts `a.__class__` before `a.__class__.__bases__`."""
Visit = ast.AST | Iterable[ast.AST] | None


def _call(name: str, args: list[ast.expr], like: ast.expr | ast.stmt) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
    copy_locations(call, like)
    return call


def _check(name: str, like: ast.stmt) -> ast.stmt:
    """``_tick_()`` / ``_enter_()`` as a statement (see ``_clock``)."""
    statement = ast.Expr(_call(name, [], like))
    copy_locations(statement, like)
    return statement


def add_ticks(tree: ast.AST) -> None:
    """``_tick_()`` before every statement of every block: the deadline is checked at least once per
    statement and per loop iteration (the granularity of a line tracer, at a fraction of its cost)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(node, field, None)
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                setattr(node, field, [part for statement in statements for part in _ticked(statement)])


def _ticked(statement: ast.stmt) -> list[ast.stmt]:
    if _is_check(statement):
        return [statement]
    return [_check("_tick_", statement), statement]


def _is_check(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and isinstance(statement.value.func, ast.Name)
        and statement.value.func.id in ("_tick_", "_enter_")
    )


def _explain(info: str) -> str:
    """RestrictedPython's message, with the reason a workflow author needs."""
    if "is a restricted name" in info:
        name = info.split('"')[1]
        return f'"{name}" is not allowed in code rules: it exposes interpreter frames and code objects'
    if info.startswith(("Exec calls", "Eval calls")):
        return f"{info.split(maxsplit=1)[0].lower()}() is not allowed: {_DYNAMIC}"
    if 'starts with "_"' in info:
        return info.rstrip(".") + ": names starting with '_' are reserved because they reach Python internals"
    return info


class SandboxPolicy(RestrictingNodeTransformer):
    """Collects every violation as ``(line, message)`` in ``problems`` instead of failing at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[Problem] = []
        self._function_depth = 0

    def error(self, node: ast.AST, info: str) -> None:
        self._deny(node, _explain(info))

    def _deny(self, node: ast.AST, message: str) -> None:
        self.problems.append((getattr(node, "lineno", None), getattr(node, "end_col_offset", None) or 0, message))

    # ---- refused outright

    def visit_Import(self, node: ast.Import) -> ast.AST:
        self._deny(node, _NO_IMPORT)
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        self._deny(node, _NO_IMPORT)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self._deny(node, "class definitions are not allowed in code rules: use dicts and functions")
        return node

    def visit_Global(self, node: ast.Global) -> ast.AST:
        self._deny(node, "global statements are not allowed in code rules: return values instead")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        self._deny(node, "with statements are not allowed: code rules have no resources to manage")
        return node

    def visit_Name(self, node: ast.Name) -> Visit:
        if node.id in ("print", "printed"):
            self._deny(node, "print() is not available in code rules: they cannot do I/O; return a value instead")
            return node
        return super().visit_Name(node)

    def visit_Try(self, node: ast.Try) -> Visit:
        for handler in node.handlers:
            if handler.type is None:
                self._deny(handler, "a bare 'except:' is not allowed: name the exceptions, e.g. except KeyError:")
        if node.finalbody:
            self._deny(
                node.finalbody[0],
                "'finally' blocks are not allowed in code rules: they could run on after the time limit stops the rule",
            )
        return super().visit_Try(node)

    def visit_Yield(self, node: ast.Yield) -> Visit:
        self._refuse_top_level_yield(node)
        return super().visit_Yield(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> Visit:
        self._refuse_top_level_yield(node)
        return super().visit_YieldFrom(node)

    def _refuse_top_level_yield(self, node: ast.AST) -> None:
        if self._function_depth == 1:
            self._deny(node, "'yield' is not allowed at the top level of a code rule: return a list instead")

    # ---- scopes

    @contextmanager
    def _function(self) -> Iterator[None]:
        self._function_depth += 1
        try:
            yield
        finally:
            self._function_depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Visit:
        with self._function():
            result = super().visit_FunctionDef(node)
        node.body.insert(0, _check("_enter_", node))
        return result

    def visit_Lambda(self, node: ast.Lambda) -> Visit:
        with self._function():
            result = super().visit_Lambda(node)
        body = ast.BoolOp(op=ast.Or(), values=[_call("_enter_", [], node.body), node.body])
        copy_locations(body, node.body)
        node.body = body  # _enter_() returns None, so `None or body` is the body
        return result

    # ---- rewrites

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return _call(guard, [node.left, node.right], node)

    def visit_comprehension(self, node: ast.comprehension) -> Visit:
        result = super().visit_comprehension(node)
        tick = ast.UnaryOp(op=ast.Not(), operand=_call("_tick_", [], node.iter))
        copy_locations(tick, node.iter)
        node.ifs.insert(0, tick)
        return result

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        """Every f-string field goes through ``_format_``: rendering a container or padding to a huge width
        happens in one C call, so size and width are checked first."""
        node = self.node_contents_visit(node)
        spec = node.format_spec if node.format_spec is not None else ast.Constant("")
        call = _call("_format_", [node.value, spec, ast.Constant(node.conversion)], node.value)
        formatted = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        copy_locations(formatted, node)
        return formatted

    def visit_AugAssign(self, node: ast.AugAssign) -> Visit:
        """``totals[key] += n`` (which RestrictedPython refuses) becomes guarded reads and writes."""
        target = node.target
        if isinstance(target, ast.Subscript) and not isinstance(target.slice, ast.Slice):
            return self._augmented_item(node, target)
        return super().visit_AugAssign(node)

    def _augmented_item(self, node: ast.AugAssign, target: ast.Subscript) -> list[ast.stmt]:
        container, key, value = self.visit(target.value), self.visit(target.slice), self.visit(node.value)
        container_name, key_name = self.gen_tmp_name(), self.gen_tmp_name()

        def load(name: str) -> ast.Name:
            return ast.Name(name, ast.Load())

        current = _call("_getitem_", [load(container_name), load(key_name)], node)
        operator = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        statements: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(container_name, ast.Store())], value=container),
            ast.Assign(targets=[ast.Name(key_name, ast.Store())], value=key),
            ast.Assign(
                targets=[
                    ast.Subscript(
                        value=_call("_write_", [load(container_name)], node), slice=load(key_name), ctx=ast.Store()
                    )
                ],
                value=_call("_inplacevar_", [operator, current, value], node),
            ),
        ]
        for statement in statements:
            copy_locations(statement, node)
        return statements
