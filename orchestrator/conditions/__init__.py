"""The condition language: Flux's conditional-flow syntax, SQL WHERE-like.  Parse once, compile once, evaluate
in about a microsecond.  Pure: no I/O, no clock, no logging.

>>> c = compile_condition("event.attributes.total > 500 AND entity.status IN ('BOOKED', 'PICKING')")
>>> c.evaluate({"event": {"attributes": {"total": "612.50"}}, "entity": {"status": "BOOKED"}})
True
>>> sorted(c.names_used)
['entity', 'event']

Syntax
    Comparison ``=  <> (or !=)  <  <=  >  >=``; arithmetic ``+ - * /`` and unary ``-``; ``LIKE`` / ``NOT LIKE``
    with ``%`` (any run of characters) and ``_`` (one character), everything else in the pattern literal and
    case-sensitive; ``IN (…)`` / ``NOT IN (…)``; ``IN field`` / ``NOT IN field`` for a field holding a list;
    ``IS NULL`` / ``IS NOT NULL``; ``NOT``, ``AND``, ``OR`` and parentheses.  Precedence, loosest first:
    OR, AND, NOT, comparisons (not chainable: write ``a < b AND b < c``), ``+ -``, ``* /``, unary ``-``.
    Keywords (AND, OR, NOT, LIKE, IN, IS, NULL, TRUE, FALSE) are case-insensitive.

    Names: ``event``, ``entity``, ``context``, ``result`` (case-sensitive); any other is a compile-time error.
    Fields: ``event.attributes.total`` and ``event.attributes['total']`` are the same; ``x[0]`` indexes a list
    (``x[-1]`` from the end).  A keyword may be a field name after a dot (``entity.attributes.in``).  Plain dicts
    and Mappings are read by key, lists by index, other objects by public attribute.

    Literals: numbers (``500``, ``12.50`` — decimals are exact Decimals), strings in single ticks with no
    escapes, as in Flux; as one extension a doubled tick inside a string is one tick (``'it''s'``), which is
    backward compatible because two adjacent strings were never valid Flux.  ``TRUE`` / ``FALSE`` / ``NULL``.

NULL and truth (SQL three-valued logic)
    A missing field, a missing root and JSON null are NULL.  Any comparison, LIKE or IN with a NULL operand is
    NULL (so ``x = NULL`` is never true: use ``x IS NULL``); ``IS [NOT] NULL`` is never NULL.
    NOT NULL is NULL; ``FALSE AND NULL`` is FALSE, ``TRUE OR NULL`` is TRUE, other mixes with NULL are NULL.
    At the top a condition holds only when it is TRUE: NULL counts as not satisfied.  So with ``total``
    missing, both ``total > 500`` and ``NOT (total > 500)`` are false, and ``NOT (a = b)`` always agrees with
    ``a <> b``.

    A bare value read as a condition (``result.result``, ``entity.attributes.express``, either side of AND/OR,
    the operand of NOT) is TRUE for true or the text 'true', FALSE for false or 'false' (any case), and NULL
    for anything else — missing, 0, 1, 'yes', a list: "is true" means set to true, as Flux has it.

Types and coercion
    int, float and Decimal compare and compute as numbers (a float meets a Decimal as the decimal it prints
    as, so 0.1 = 0.1 whichever side is a Decimal).  A string that reads as a number ('500', ' 12.50', '1e3')
    is that number when the other side is a number — attributes often arrive as text — in comparisons, IN
    lists and arithmetic; two strings compare as strings ('10' < '9').  A boolean equals TRUE/FALSE or the text
    'true'/'false' and nothing else (TRUE = 1 is false).  ``=`` / ``<>`` between values of different kinds
    that do not coerce ('abc' and 5, a dict and a string) are simply unequal; ordering them (``'abc' > 5``) is
    NULL.  Arithmetic takes numbers only (text that reads as a number included) and is exact unless a float
    is involved: 7 / 2 = 3.5; division by zero, overflow and any other mismatch are NULL.  Nothing raises on
    data: a type mismatch is NULL, never an exception.  LIKE reads numbers as their text (zip 3000 LIKE '30%').
    IN is membership: TRUE when the value equals an item, FALSE when it is not NULL and equals none;
    NULL items in the list are ignored (unlike SQL, ``x NOT IN ('A', NULL)`` is TRUE for 'B').
"""

from orchestrator.conditions._ast import ROOTS
from orchestrator.conditions._compile import Evaluator
from orchestrator.conditions._condition import Condition, compile_condition
from orchestrator.conditions._errors import ConditionSyntaxError

__all__ = ["ROOTS", "Condition", "ConditionSyntaxError", "Evaluator", "compile_condition"]
