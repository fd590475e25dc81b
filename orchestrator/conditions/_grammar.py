"""The grammar of Flux's conditional-flow syntax (SQL WHERE-like), for lark's LALR parser.

Inline rather than a ``.lark`` file so that it ships inside any wheel without package-data settings.
Precedence, loosest first: OR, AND, NOT, comparison / LIKE / IN / IS (non-associative), + -, * /, unary -.
Keywords are case-insensitive; a keyword cannot be a root name, but may be a field name after a dot
(``entity.attributes.in``) because the contextual lexer only looks for the terminals the parser can accept.
"""

from __future__ import annotations

from functools import cache

from lark import Lark

KEYWORDS = ("AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "TRUE", "FALSE")

GRAMMAR = r"""
start: or_test

?or_test: and_test (_OR and_test)*          -> or_
?and_test: not_test (_AND not_test)*        -> and_
?not_test: _NOT not_test                    -> not_
         | predicate

?predicate: sum
          | sum COMPARE sum                 -> compare
          | sum _LIKE sum                   -> like
          | sum _NOT _LIKE sum              -> not_like
          | sum _IN "(" items ")"           -> in_list
          | sum _NOT _IN "(" items ")"      -> not_in_list
          | sum _IN path                    -> in_collection
          | sum _NOT _IN path               -> not_in_collection
          | sum _IS _NULL                   -> is_null
          | sum _IS _NOT _NULL              -> is_not_null

items: sum ("," sum)*

?sum: product (ADD product)*                -> arith
?product: unary (MUL unary)*                -> arith
?unary: "-" unary                           -> negate
      | "+" unary
      | atom

?atom: NUMBER                               -> number
     | STRING                               -> string
     | _TRUE                                -> true
     | _FALSE                               -> false
     | _NULL                                -> null
     | path
     | "(" or_test ")"

path: NAME ("." FIELD | "[" key "]")*
?key: STRING                                -> key_string
    | INT                                   -> key_int
    | "-" INT                               -> key_negative

_OR: "OR"i
_AND: "AND"i
_NOT: "NOT"i
_LIKE: "LIKE"i
_IN: "IN"i
_IS: "IS"i
_NULL: "NULL"i
_TRUE: "TRUE"i
_FALSE: "FALSE"i

COMPARE: "<>" | "!=" | "<=" | ">=" | "=" | "<" | ">"
ADD: "+" | "-"
MUL: "*" | "/"
NAME: /(?!(?i:and|or|not|like|in|is|null|true|false)\b)[A-Za-z_][A-Za-z0-9_]*/
FIELD: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /\d+(\.\d*)?|\.\d+/
INT: /\d+/
STRING: /'(?:[^']|'')*'/

%ignore /\s+/
"""

# What a retailer calls the terminals lark names in its errors.
TERMINAL_WORDS = {
    "COMPARE": "a comparison (=, <>, <, <=, >, >=)",
    "ADD": "'+' or '-'",
    "MUL": "'*' or '/'",
    "NAME": "a name",
    "FIELD": "a field name",
    "NUMBER": "a number",
    "INT": "a number",
    "STRING": "a 'string'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "DOT": "'.'",
    "MINUS": "'-'",
    "PLUS": "'+'",
    "$END": "the end of the condition",
    **{f"_{word}": word for word in KEYWORDS},
}


@cache
def parser() -> Lark:
    """Built on first use (a few tens of milliseconds), then shared: lark's LALR parser is reentrant."""
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=False)
