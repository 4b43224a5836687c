"""Graph API versions: which are available on a date, and how a request's version is served.

Release and expiration dates from Meta's changelog (developers.facebook.com/docs/graph-api/changelog/
versions, read 2026-11-29). A version lives about two years: it expires roughly two years after its
successor is released; the newest version has no expiration date yet. A call to an expired version is
auto-upgraded to the oldest available one and says so in an ``X-Ad-Api-Version-Warning`` header;
a version not released yet (or never) is an unknown path.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

_VERSION = re.compile(r"v(\d+)\.(\d+)")
# How long a version outlives its successor's release when Meta has not announced the date.
LIFETIME_AFTER_SUCCESSOR = timedelta(days=730)
# version, released, expires (None: not announced).
_TABLE = (
    ("v17.0", date(2023, 5, 23), date(2025, 9, 12)),
    ("v18.0", date(2023, 9, 12), date(2026, 1, 26)),
    ("v19.0", date(2024, 1, 23), date(2026, 5, 21)),
    ("v20.0", date(2024, 5, 21), date(2026, 9, 24)),
    ("v21.0", date(2024, 10, 2), date(2027, 1, 21)),
    ("v22.0", date(2025, 1, 21), date(2027, 5, 20)),
    ("v23.0", date(2025, 5, 29), date(2027, 10, 8)),
    ("v24.0", date(2025, 10, 8), date(2028, 2, 18)),
    ("v25.0", date(2026, 2, 18), date(2028, 7, 29)),
    ("v26.0", date(2026, 7, 29), None),
)


@dataclass(frozen=True)
class GraphVersion:
    """One Graph API version and its lifetime."""

    name: str
    released: date
    expires: date | None

    def available_on(self, day: date) -> bool:
        """Whether Meta serves this version on day."""
        return self.released <= day and (self.expires is None or day < self.expires)


def _with_derived_expiry() -> tuple[GraphVersion, ...]:
    versions = []
    for position, (name, released, expires) in enumerate(_TABLE):
        successor = _TABLE[position + 1][1] if position + 1 < len(_TABLE) else None
        if expires is None and successor is not None:
            expires = successor + LIFETIME_AFTER_SUCCESSOR
        versions.append(GraphVersion(name, released, expires))
    return tuple(versions)


GRAPH_VERSIONS = _with_derived_expiry()


def version_key(name: str) -> tuple[int, int] | None:
    """Return (major, minor) of a name like v26.0, or None when it is not shaped like a version."""
    match = _VERSION.fullmatch(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def available_versions(day: date) -> list[str]:
    """Return the versions Meta serves on day, oldest first."""
    return [version.name for version in GRAPH_VERSIONS if version.available_on(day)]


def known_version(name: str) -> GraphVersion | None:
    """Return the table's entry for name, or None."""
    return next((version for version in GRAPH_VERSIONS if version.name == name), None)


@dataclass(frozen=True)
class ServedVersion:
    """The version a request is answered with, and the warning when it was upgraded."""

    name: str
    warning: str | None = None


def serve_version(asked: str, day: date, served: tuple[str, ...] | None = None) -> ServedVersion | None:
    """Return how a request for ``asked`` is served on day, or None when Graph does not know it.

    ``served`` overrides the available versions (SANDBOX_VERSIONS); by default they come from the dates.
    An older version than every available one is upgraded to the oldest; a newer or malformed one is unknown.
    """
    available = list(served) if served else available_versions(day)
    if asked in available:
        return ServedVersion(asked)
    asked_key = version_key(asked)
    keys = sorted((version_key(name), name) for name in available if version_key(name))
    if asked_key is None or not keys or asked_key > keys[0][0]:
        return None
    oldest = keys[0][1]
    warning = f"The call has been auto-upgraded to {oldest} as {asked} is deprecated."
    return ServedVersion(oldest, warning)
