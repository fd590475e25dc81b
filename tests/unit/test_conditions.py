"""The condition language: one table of (condition, expected) over one realistic scope, then the API.

``x IS NULL`` rows assert that a value came out NULL (a type mismatch, a missing field, a division by zero).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orchestrator.conditions import compile_condition

SCOPE: dict[str, Any] = {
    "event": {
        "name": "CREATE",
        "type": "NORMAL",
        "attributes": {
            "total": 612.5,
            "totalText": "612.50",
            "qty": 3,
            "qtyText": "3",
            "price": Decimal("19.99"),
            "ratio": 0.1,
            "zip": 3000,
            "code": "A.B*C(1)",
            "tags": ["GIFT", "EXPRESS"],
            "lines": [{"sku": "SKU-1", "qty": 2}, {"sku": "SKU-2", "qty": 1}],
            "empty": "",
            "zero": 0,
            "one": 1,
            "nothing": None,
            "flagText": "TRUE",
            "offText": "false",
            "yes": "yes",
            "in": "a field named like a keyword",
            "note": "it's",
            "nested": {"deeper": {"deepest": "here"}},
        },
    },
    "entity": {"status": "BOOKED", "ref": "HD-001", "attributes": {"express": True, "gift": False}},
    "context": {"retailerId": "1", "limits": {"max": 1000}},
    "result": {"result": True, "subject": "URGENT: order late", "count": 0},
}

A = "event.attributes"

CASES: list[tuple[str, bool]] = [
    # --- comparison operators, each way round
    ("entity.status = 'BOOKED'", True),
    ("entity.status = 'booked'", False),
    ("entity.status <> 'BOOKED'", False),
    ("entity.status <> 'PICKING'", True),
    ("entity.status != 'PICKING'", True),
    (f"{A}.qty > 2", True),
    (f"{A}.qty > 3", False),
    (f"{A}.qty >= 3", True),
    (f"{A}.qty < 3", False),
    (f"{A}.qty <= 3", True),
    (f"{A}.qty < 4", True),
    (f"{A}.total >= 612.5", True),
    (f"{A}.total > 612.49", True),
    ("'abc' < 'abd'", True),
    ("'10' < '9'", True),  # two strings compare as strings
    # --- arithmetic and its precedence
    (f"{A}.qty + 2 = 5", True),
    (f"{A}.qty - 5 = -2", True),
    (f"{A}.qty * 2 = 6", True),
    (f"{A}.qty / 2 = 1.5", True),
    ("2 + 3 * 4 = 14", True),
    ("(2 + 3) * 4 = 20", True),
    ("10 - 2 - 3 = 5", True),  # left-associative
    ("12 / 2 / 3 = 2", True),
    ("-2 * -3 = 6", True),
    (f"-{A}.qty = -3", True),
    (f"- -{A}.qty = 3", True),
    ("+5 = 5", True),
    (f"{A}.total * 2 > {A}.qty * 400", True),  # comparison of arithmetic
    (f"{A}.price * 2 = 39.98", True),
    (f"{A}.price * {A}.qty = 59.97", True),
    ("7 / 2 = 3.5", True),  # exact, not integer division
    ("1 / 3 * 3 = 1", False),  # exact to 34 digits, not symbolic
    # --- AND / OR / NOT and their precedence
    ("entity.status = 'BOOKED' AND result.result", True),
    ("entity.status = 'BOOKED' AND NOT result.result", False),
    ("entity.status = 'X' OR result.result", True),
    ("entity.status = 'X' OR entity.status = 'Y'", False),
    ("TRUE OR TRUE AND FALSE", True),  # AND binds tighter: TRUE OR (TRUE AND FALSE)
    ("(TRUE OR TRUE) AND FALSE", False),
    ("FALSE AND FALSE OR TRUE", True),
    ("NOT FALSE AND FALSE", False),  # NOT binds tighter than AND
    ("NOT (FALSE AND FALSE)", True),
    ("NOT NOT TRUE", True),
    ("NOT entity.status = 'X'", True),  # NOT (entity.status = 'X')
    ("not entity.status = 'BOOKED' or true and false", False),  # keywords in any case
    ("(entity.status = 'BOOKED')", True),
    ("((((entity.status = 'BOOKED'))))", True),
    (f"(entity.status = 'BOOKED') AND ({A}.total >= 5000 OR {A}.qty <> 20)", True),
    # --- LIKE
    ("event.name LIKE 'CRE%'", True),  # prefix
    ("event.name LIKE '%ATE'", True),  # suffix
    ("event.name LIKE '%EAT%'", True),  # contains
    ("event.name LIKE '%'", True),
    ("event.name LIKE 'CREATE'", True),  # no wildcard: equality
    ("event.name LIKE 'CREAT'", False),
    ("event.name LIKE 'cre%'", False),  # case-sensitive
    ("event.name LIKE 'CR_ATE'", True),  # _ is one character
    ("event.name LIKE 'CR_TE'", False),
    ("event.name NOT LIKE 'X%'", True),
    ("event.name NOT LIKE 'C%'", False),
    ("result.subject LIKE '%URGENT%'", True),
    (f"{A}.code LIKE 'A.B*C(1)'", True),  # regex characters are literal
    (f"{A}.code LIKE 'A_B*%'", True),
    (f"{A}.code LIKE 'AxB%'", False),  # '.' is not "any character"
    (f"{A}.code LIKE '%(1)'", True),
    (f"{A}.zip LIKE '30%'", True),  # a number reads as its text
    (f"{A}.nothing LIKE '%'", False),
    (f"{A}.nothing NOT LIKE '%'", False),
    (f"{A}.tags LIKE '%'", False),
    ("event.name LIKE NULL", False),
    ("event.name NOT LIKE NULL", False),
    ("event.name LIKE event.name", True),  # a pattern from a field
    ("event.name LIKE entity.nothing", False),
    ("'it''s' LIKE '%''%'", True),
    # --- IN
    ("entity.status IN ('BOOKED', 'PICKING')", True),
    ("entity.status IN ('PICKING', 'PACKED')", False),
    ("entity.status NOT IN ('PICKING', 'PACKED')", True),
    ("entity.status NOT IN ('BOOKED')", False),
    ("entity.status IN ('BOOKED')", True),
    (f"{A}.qty IN (1, 2, 3)", True),
    (f"{A}.qty IN (1, 2)", False),
    (f"{A}.qty IN ('3', 'x')", True),  # a numeric string in the list meets a number
    (f"{A}.qtyText IN (3, 4)", True),
    (f"{A}.total IN (612.50, 'x', TRUE)", True),  # mixed list
    (f"{A}.qty IN (1 + 2, 10)", True),  # items are expressions
    (f"{A}.qty IN ({A}.one, {A}.zero)", False),  # items read from fields
    (f"{A}.one IN ({A}.one, {A}.zero)", True),
    (f"{A}.one NOT IN ({A}.qty, {A}.zero)", True),
    (f"{A}.nothing IN (1, NULL)", False),
    (f"{A}.nothing NOT IN (1, 2)", False),  # NULL is neither in nor not in
    ("entity.status NOT IN ('X', NULL)", True),  # NULL items are ignored (unlike SQL)
    ("entity.status IN (NULL)", False),
    ("entity.attributes.express IN (TRUE)", True),
    (f"'GIFT' IN {A}.tags", True),  # a field holding a list
    (f"'SALE' IN {A}.tags", False),
    (f"'SALE' NOT IN {A}.tags", True),
    (f"'GIFT' NOT IN {A}.tags", False),
    (f"'GIFT' IN {A}.missing", False),
    (f"'GIFT' NOT IN {A}.missing", False),
    (f"'GIFT' IN {A}.code", False),  # not a list
    # --- fields: dotted, ['key'], index
    (f"{A}.total = 612.5", True),
    ("event.attributes['total'] = 612.5", True),
    ("event['attributes']['total'] = 612.5", True),
    (f"{A}['nested'].deeper['deepest'] = 'here'", True),
    (f"{A}.lines[0].sku = 'SKU-1'", True),
    (f"{A}.lines[1]['qty'] = 1", True),
    (f"{A}.lines[-1].sku = 'SKU-2'", True),
    (f"{A}.lines[2].sku IS NULL", True),  # out of range is NULL
    (f"{A}.lines['0'] IS NULL", True),  # a list is indexed by number only
    (f"{A}.tags[0] = 'GIFT'", True),
    (f"{A}.in = 'a field named like a keyword'", True),
    (f"{A}.note = 'it''s'", True),  # '' is one tick inside a string
    ("context.limits.max = 1000", True),
    ("context.retailerId = '1'", True),
    ("context.retailerId = 1", True),
    # --- missing fields are NULL; comparisons with NULL are neither TRUE nor FALSE
    (f"{A}.missing IS NULL", True),
    (f"{A}.missing IS NOT NULL", False),
    (f"{A}.nothing IS NULL", True),  # JSON null
    (f"{A}.total IS NOT NULL", True),
    (f"{A}.empty IS NULL", False),  # '' is a value
    ("event.missing.deeper.still IS NULL", True),
    (f"{A}.total.deeper IS NULL", True),  # a number has no fields
    ("entity.status.length IS NULL", True),  # nor has a string
    (f"{A}.missing = 5", False),
    (f"{A}.missing <> 5", False),
    (f"NOT ({A}.missing = 5)", False),
    (f"NOT ({A}.missing > 5)", False),
    (f"NOT ({A}.missing <= 5)", False),
    (f"{A}.missing = NULL", False),  # use IS NULL
    (f"{A}.missing <> NULL", False),
    (f"NOT ({A}.missing = NULL)", False),
    ("NULL = NULL", False),
    ("NULL IS NULL", True),
    ("NOT NULL", False),
    ("NULL", False),
    ("NOT (NULL IS NULL)", False),
    # --- three-valued AND / OR
    (f"{A}.missing = 1 OR TRUE", True),
    (f"{A}.missing = 1 AND FALSE", False),
    (f"NOT ({A}.missing = 1 AND FALSE)", True),  # FALSE AND NULL is FALSE
    (f"NOT ({A}.missing = 1 AND TRUE)", False),  # TRUE AND NULL is NULL
    (f"NOT ({A}.missing = 1 OR FALSE)", False),  # FALSE OR NULL is NULL
    (f"NOT ({A}.missing = 1 OR TRUE)", False),  # TRUE OR NULL is TRUE
    (f"({A}.missing = 1) IS NULL", True),  # a predicate as a value
    ("(1 < 2) = TRUE", True),
    ("(1 > 2) = FALSE", True),
    # --- TRUE / FALSE and bare values ("is true")
    ("TRUE", True),
    ("FALSE", False),
    ("true", True),
    ("NOT FALSE", True),
    ("result.result", True),
    ("result.result = TRUE", True),
    ("result.result = true", True),
    ("result.result <> FALSE", True),
    ("NOT result.result", False),
    ("entity.attributes.express", True),
    ("entity.attributes.gift", False),
    ("NOT entity.attributes.gift", True),
    ("entity.attributes.gift = FALSE", True),
    ("entity.attributes.missing", False),
    ("NOT entity.attributes.missing", False),  # NULL either way
    (f"{A}.flagText", True),  # the text 'true', any case
    (f"{A}.flagText = TRUE", True),
    (f"NOT {A}.offText", True),
    (f"{A}.offText = FALSE", True),
    (f"{A}.yes", False),  # a non-empty string is not true
    (f"NOT {A}.yes", False),  # ...nor false
    (f"{A}.yes = TRUE", False),
    (f"{A}.one", False),  # 1 is not true
    (f"{A}.zero", False),
    (f"NOT {A}.zero", False),
    (f"{A}.one = TRUE", False),  # booleans are not numbers
    (f"{A}.one <> TRUE", True),
    (f"{A}.tags", False),
    ("'true'", True),
    ("1", False),
    ("result.result AND entity.attributes.express", True),
    ("result.result AND entity.attributes.gift", False),
    ("result.result OR entity.attributes.missing", True),
    # --- numbers: int, float and Decimal; numeric strings
    (f"{A}.qty = 3.0", True),
    (f"{A}.ratio = 0.1", True),  # float data, Decimal literal
    (f"{A}.ratio + 0.2 = 0.3", True),  # exact once a literal decimal is involved
    (f"{A}.price = 19.99", True),
    (f"{A}.price > {A}.total", False),  # Decimal against float
    (f"{A}.price < {A}.total", True),
    (f"{A}.price = '19.990'", True),
    (f"{A}.totalText > 500", True),  # numeric string against a number: numerically
    (f"{A}.totalText = 612.5", True),
    (f"{A}.totalText = '612.5'", False),  # two strings compare as strings
    (f"{A}.totalText + 0.5 = 613", True),
    (f"{A}.qtyText * 2 = 6", True),
    (f"-{A}.qtyText = -3", True),
    (f"{A}.qtyText = 3", True),
    (f"{A}.qtyText < 10", True),
    ("' 42 ' = 42", True),
    ("'1e3' = 1000", True),
    ("'1_000' = 1000", False),
    ("'NaN' = 'NaN'", True),
    ("'NaN' > 1", False),
    ("'Infinity' > 1", False),
    ("0.5 = .5", True),
    ("1. = 1", True),
    ("'1' + '2' = 3", True),  # arithmetic reads text as numbers
    # --- type mismatches and arithmetic faults: NULL, never an exception
    ("'abc' > 5", False),
    ("NOT ('abc' > 5)", False),
    ("'abc' <= 5", False),
    ("'abc' = 5", False),
    ("'abc' <> 5", True),  # different kinds are simply unequal
    ("'abc' + 5 IS NULL", True),
    ("'abc' * 5 IS NULL", True),
    ("-'abc' IS NULL", True),
    ("-TRUE IS NULL", True),
    ("TRUE + 1 IS NULL", True),
    ("TRUE > FALSE", False),  # booleans do not order
    ("TRUE = 'TRUE'", True),
    ("TRUE = 'yes'", False),
    ("1 / 0 IS NULL", True),
    ("1.0 / 0 IS NULL", True),
    (f"{A}.qty / {A}.zero IS NULL", True),
    (f"{A}.total / 0 IS NULL", True),
    (f"{A}.qty / 0 > 1", False),
    (f"NOT ({A}.qty / 0 > 1)", False),
    (f"{A}.tags > 1", False),
    (f"{A}.tags = 'GIFT'", False),
    (f"{A}.tags <> 'GIFT'", True),
    (f"{A}.tags + 1 IS NULL", True),
    (f"{A}.nested = {A}.nested", True),  # same kind: compared as values
    (f"{A}.nested > {A}.nested", False),  # but not ordered
    (f"{A}.lines[0] = {A}.lines[0]", True),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_condition_table(text: str, expected: bool) -> None:
    condition = compile_condition(text)
    assert condition.evaluate(SCOPE) is expected


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_not_of_a_true_condition_is_never_true(text: str, expected: bool) -> None:
    """Three-valued logic: a condition and its NOT are never both satisfied (both may fail, on NULL)."""
    negated = compile_condition(f"NOT ({text})").evaluate(SCOPE)
    assert not (expected and negated)
