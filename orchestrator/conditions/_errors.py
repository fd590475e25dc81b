"""The one error a condition's author can cause: text that does not parse or names something unknown."""

from __future__ import annotations


class ConditionSyntaxError(ValueError):
    """A condition that cannot be compiled, with where it goes wrong inside the expression.

    ``position`` is the 0-based offset into ``expression``; ``line`` and ``column`` are 1-based, like an
    editor's (and the workflow loader's ``file:line:column``).  ``render(source)`` gives the message with the
    offending line and a caret under the spot.
    """

    expression: str
    position: int
    message: str
    line: int
    column: int

    def __init__(self, message: str, expression: str, position: int) -> None:
        super().__init__(message, expression, position)
        position = max(0, min(position, len(expression)))
        self.message = message
        self.expression = expression
        self.position = position
        self.line = expression.count("\n", 0, position) + 1
        self.column = position - (expression.rfind("\n", 0, position) + 1) + 1

    def render(self, source: str = "") -> str:
        """``source`` names where the condition lives, e.g. ``rulesets/order_hd.yaml ruleset 'CREATE'``."""
        where = f"line {self.line}, column {self.column}" if "\n" in self.expression else f"column {self.column}"
        head = f"condition syntax error at {where}: {self.message}"
        if source:
            head = f"{source}: {head}"
        text_line = self.expression.split("\n")[self.line - 1].rstrip("\r")
        pad = "".join("\t" if ch == "\t" else " " for ch in text_line[: self.column - 1])
        return f"{head}\n  {text_line}\n  {pad}^"

    def __str__(self) -> str:
        return self.render()
