"""Where events may go: https to public addresses only, unless configuration allows a host.

A merchant's base URL is checked when it is saved and again before every request (DNS may change), and
the connection itself connects only to addresses it checked with the same rule (delivery.pinning).
Every address the host resolves to must be public: loopback, private, link-local, unique-local,
multicast, unspecified and reserved addresses are refused, IPv4-mapped IPv6 included. Hosts listed in
``DELIVERY_ALLOWED_HOSTS`` (``host`` or ``host:port``; the embedded sandbox is added in the demo) are
exempt, and only they may be reached over plain http. Nothing here connects anywhere.
"""

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class HostRefused(ValueError):
    """A URL the delivery service will not send to; the message says why, without the URL's query."""


class HostUnresolved(HostRefused):
    """The URL's host does not resolve now: not a verdict on the host (DNS may be down), so retried."""


def resolve(host: str, port: int) -> list[str]:
    """Return every address host resolves to (the one place delivery asks DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def parse_allowed(value) -> tuple[str, ...]:
    """Return the allowed hosts from configuration: a list, or a comma-separated string."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(item).strip().lower() for item in items if str(item).strip())


def host_port(url: str) -> str:
    """Return ``host:port`` of a URL (IPv6 hosts in brackets), the form allowed hosts are written in."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_allowed(url: str, allowed: Iterable[str]) -> bool:
    """Return True when configuration allows the URL's host (any port) or its host:port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    bracketed = f"[{host}]" if ":" in host else host
    entries = set(allowed)
    return host in entries or bracketed in entries or host_port(url) in entries


def refusal(address: str) -> str | None:
    """Return why an IP address may not be reached, or None when it is public."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        reason = refusal(str(ip.ipv4_mapped))
        return f"an IPv4-mapped {reason}" if reason else None
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unique-local", isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7")),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved or not ip.is_global),
    ):
        if flag:
            return f"{kind} address"
    return None


def validate_base_url(url: str) -> None:
    """Raise HostRefused unless a merchant may save url as a destination's base URL, by the app's rules.

    A host that does not resolve now passes (the shop may be offline): the rules run again before every send.
    """
    from flask import current_app

    try:
        check_url(url, parse_allowed(current_app.config.get("DELIVERY_ALLOWED_HOSTS")))
    except HostUnresolved:
        return


def clean_base_url(value: str, name: str, example: str) -> str:
    """Return a base URL a merchant typed, without its trailing slash, or raise ValueError with the message to show.

    https to public hosts; private ones and plain http only where the delivery service allows them.
    name and example word the messages (``Graph API base URL``, ``https://graph.facebook.com``).
    """
    message = f"Enter the {name}, e.g. {example} (https to a public host)."
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as error:
        raise ValueError(message) from error
    if parts.scheme not in ("http", "https") or not host or parts.query or parts.fragment:
        raise ValueError(message)
    if parts.username or parts.password:
        raise ValueError(f"The {name} must not hold a user name or password.")
    try:
        validate_base_url(value)
    except HostRefused as error:
        reason = str(error)
        raise ValueError(f"{reason[:1].upper()}{reason[1:]}.") from None
    return value.rstrip("/")


def check_url(url: str, allowed: Iterable[str] = (), resolver: Callable[[str, int], list[str]] | None = None) -> None:
    """Raise HostRefused unless url may receive events; resolves the host (never connects)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError as error:
        raise HostRefused(f"not a valid URL: {error}") from None
    if parts.scheme not in DEFAULT_PORTS or not host:
        raise HostRefused("only http(s) URLs with a host can receive events")
    if parts.username or parts.password:
        raise HostRefused("the URL must not hold a user name or password")
    if is_allowed(url, allowed):
        return
    if parts.scheme != "https":
        raise HostRefused(f"plain http is refused for {host}: use https (only allowed hosts may use http)")
    public_addresses(host, port, resolver)


def public_addresses(host: str, port: int, resolver: Callable[[str, int], list[str]] | None = None) -> list[str]:
    """Return every address host resolves to; raise HostRefused when any of them is not public."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = (resolver or resolve)(host, port)
        except (OSError, UnicodeError) as error:
            raise HostUnresolved(f"cannot resolve {host}: {type(error).__name__}") from None
    if not addresses:
        raise HostUnresolved(f"{host} resolves to no address")
    for address in addresses:
        reason = refusal(address)
        if reason:
            shown = host if host == address else f"{host} ({address})"
            raise HostRefused(f"{shown} is a {reason}: events go to public addresses only")
    return addresses


def connect_addresses(
    scheme: str, host: str, port: int, allowed: Iterable[str], resolver: Callable[[str, int], list[str]] | None = None
) -> list[str] | None:
    """Return the checked addresses a connection to host:port may use, None for an allowed host (any address).

    Called by the connection itself (delivery.pinning), so a DNS answer that changed since check_url
    cannot lead it to an address the rules refuse.
    """
    shown = f"[{host}]" if ":" in host else host
    if is_allowed(f"{scheme}://{shown}:{port}", allowed):
        return None
    return public_addresses(host, port, resolver)
