"""Guards for hostile input, shared by every package: numbers the database can hold, ASCII digits, clean text.

A number from a URL, a query string or a JSON body is range-checked here before it reaches a query
(SQLite overflows past 2**63 - 1, PostgreSQL's INTEGER past 2**31 - 1); text is refused when it holds
an unpaired surrogate (it cannot be encoded to store it) or a control character where none belongs.
"""

import json
import math
import re
import unicodedata
from datetime import date

from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

# The largest id or count any table holds: PostgreSQL's INTEGER, the smallest of the databases we run on.
MAX_ID = 2**31 - 1
# Digits as a person types them: ASCII only ("²" and "١٢٣" are digits to str.isdigit, not to us).
_ASCII_DIGITS = re.compile(r"[0-9]{1,18}")
# The deepest JSON any of our bodies needs; deeper nesting is refused before it can exhaust the stack.
MAX_JSON_DEPTH = 64
# Dates a filter may name: stepping a day past them must stay inside the calendar.
FIRST_DATE = date(1970, 1, 1)
LAST_DATE = date(9998, 12, 31)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]")


def whole_number(raw: str, lo: int = 0, hi: int = MAX_ID) -> int:
    """Return raw (ASCII digits) as an int within [lo, hi]; raise ValueError saying what is wrong."""
    raw = raw.strip()
    if not _ASCII_DIGITS.fullmatch(raw):
        raise ValueError("must be a whole number")
    value = int(raw)
    if not lo <= value <= hi:
        raise ValueError(f"must be between {lo} and {hi}")
    return value


def optional_id(raw: str | None) -> int | None:
    """Return a query-string id (1..MAX_ID), None when absent; raise ValueError when it is not one."""
    if raw is None or not raw.strip():
        return None
    return whole_number(raw, lo=1)


def in_id_range(value: int) -> bool:
    """Whether an int may be used as an id or a count in a query."""
    return 0 <= value <= MAX_ID


def text_problem(value: str, multiline: bool = False) -> str | None:
    """Return why value cannot be stored as text (unpaired surrogate, control character), or None."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "holds an invalid character (an unpaired surrogate)"
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in value):
        return "holds a control character (tab, line break, NUL …)" if not multiline else "holds a control character"
    return None


def date_problem(value: date | None) -> str | None:
    """Return why a filter date is out of range, or None."""
    if value is not None and not FIRST_DATE <= value <= LAST_DATE:
        return f"Choose a date between {FIRST_DATE.isoformat()} and {LAST_DATE.isoformat()}."
    return None


class DateInRange:
    """WTForms validator: a date a filter can use (9999-12-31 has no next day to compare with)."""

    def __call__(self, form, field):
        from wtforms.validators import ValidationError

        problem = date_problem(field.data)
        if problem:
            raise ValidationError(problem)


class IdConverter(IntegerConverter):
    """The ``int`` URL converter, limited to ids a table can hold: a larger number is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999999 is valid JSON, yet no JSON can carry the infinity it becomes
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def json_depth_exceeds(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of a JSON text nest deeper than limit (brackets inside strings do not count)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= limit:  # too few brackets to nest that deep
        return False
    depth = 0
    for bracket in _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def strict_loads(text: str | bytes, **kwargs):
    """json.loads that refuses NaN/Infinity, overflowing numbers and deep nesting with a ValueError."""
    if json_depth_exceeds(text):
        raise ValueError(f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    kwargs.setdefault("parse_constant", _refuse_constant)
    kwargs.setdefault("parse_float", _finite_float)
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise ValueError("the JSON nests too deeply") from None


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, reading request bodies with strict_loads (one place for every get_json)."""

    def loads(self, s, **kwargs):
        return strict_loads(s, **kwargs)


def page_number(raw: str) -> int:
    """A ``?page=`` value (1..MAX_ID) for ``request.args.get(..., type=page_number)``; ValueError otherwise."""
    return whole_number(raw, lo=1)


def id_arg(args, name: str) -> int | None:
    """Return the id in query argument name (None when absent), or refuse the request with a 400."""
    from werkzeug.exceptions import BadRequest

    try:
        return optional_id(args.get(name))
    except ValueError:
        raise BadRequest(f"{name} must be an id: a whole number from 1 to {MAX_ID}.") from None
