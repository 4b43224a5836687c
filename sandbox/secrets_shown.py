"""How the sandboxes show a secret they received: never in full."""

import re

# PostgreSQL stores neither a lone surrogate nor NUL in text.
_UNSTORABLE = re.compile(r"[\ud800-\udfff\x00]")
MAX_DEPTH = 32  # deeper than any real payload; deeper parts are stored as a marker


def hint(secret: str | None) -> str | None:
    """Return secret as its first two and last two characters (``ab…yz``), or None when absent."""
    if not secret:
        return None
    if len(secret) <= 8:
        return "…"
    return f"{secret[:2]}…{secret[-2:]}"


def clean_text(value) -> str | None:
    """Return value as storable text: lone surrogates and NUL replaced (PostgreSQL refuses them), None kept."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return _UNSTORABLE.sub("\ufffd", text)


def clean_json(value, depth: int = 0):
    """Return a JSON value with every string made storable (see clean_text)."""
    if isinstance(value, str):
        return clean_text(value)
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return "[nested too deep]"
    if isinstance(value, dict):
        return {clean_text(key): clean_json(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_json(item, depth + 1) for item in value]
    return value
