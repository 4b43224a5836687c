"""Exact JSON text for payloads and answers: Decimals as JSON numbers digit for digit, never floats."""

import json
from decimal import Decimal

_MARK = "\x00decimal\x00"


def dumps(value, indent: int | None = None, _level: int = 0) -> str:
    """Serialize JSON exactly: Decimals become JSON numbers digit for digit, never via float.

    With indent, pretty-print (for the sent-events log); without, one line as sent.
    """
    if indent is None and _level == 0:
        decimals: list[Decimal] = []
        marked = _marked(value, decimals)
        if marked is not None:  # json's C encoder, Decimals put back in place of their marks
            text = json.dumps(marked, ensure_ascii=False)
            parts = text.split(json.dumps(_MARK))
            return parts[0] + "".join(_number(d) + part for d, part in zip(decimals, parts[1:], strict=True))
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
        return _number(value)
    return json.dumps(value, ensure_ascii=False)


def _number(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send a non-finite number: {value}")
    return str(value)  # Decimal's str is always a valid JSON number (e.g. "12.30", "1E+3")


def _marked(value, decimals: list):
    """Return value with each Decimal replaced by a mark (noted in decimals, in order), or None if unsure.

    None (the slow path) when a key is not a string or a string holds a NUL, which a mark could be taken for.
    """
    if isinstance(value, Decimal):
        decimals.append(value)
        return _MARK
    if isinstance(value, str):
        return None if "\x00" in value else value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key:
                return None
            marked = _marked(item, decimals)
            if marked is None and item is not None:
                return None
            out[key] = marked
        return out
    if isinstance(value, list | tuple):
        out_list = []
        for item in value:
            marked = _marked(item, decimals)
            if marked is None and item is not None:
                return None
            out_list.append(marked)
        return out_list
    if isinstance(value, bool | int | float) or value is None:
        return value
    return None  # anything else: the slow path says what json.dumps makes of it


def pretty(text: str | None) -> str:
    """Return a stored JSON text pretty-printed with its numbers unchanged, or the text itself if not JSON."""
    if not text:
        return ""
    try:
        return dumps(json.loads(text, parse_float=Decimal), indent=2)
    except ValueError:
        return text
