"""Exact JSON text for payloads and answers: Decimals as JSON numbers digit for digit, never floats."""

import json
from decimal import Decimal


def dumps(value, indent: int | None = None, _level: int = 0) -> str:
    """Serialize JSON exactly: Decimals become JSON numbers digit for digit, never via float.

    With indent, pretty-print (for the sent-events log); without, one line as sent.
    """
    if isinstance(value, dict | list | tuple) and value:
        if isinstance(value, dict):
            parts = [
                f"{json.dumps(str(k), ensure_ascii=False)}: {dumps(v, indent, _level + 1)}" for k, v in value.items()
            ]
            opening, closing = "{", "}"
        else:
            parts = [dumps(v, indent, _level + 1) for v in value]
            opening, closing = "[", "]"
        if indent is None:
            return opening + ", ".join(parts) + closing
        inner = "\n" + " " * (indent * (_level + 1))
        return opening + inner + ("," + inner).join(parts) + "\n" + " " * (indent * _level) + closing
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send a non-finite number: {value}")
        return str(value)  # Decimal's str is always a valid JSON number (e.g. "12.30", "1E+3")
    return json.dumps(value, ensure_ascii=False)


def pretty(text: str | None) -> str:
    """Return a stored JSON text pretty-printed with its numbers unchanged, or the text itself if not JSON."""
    if not text:
        return ""
    try:
        return dumps(json.loads(text, parse_float=Decimal), indent=2)
    except ValueError:
        return text
