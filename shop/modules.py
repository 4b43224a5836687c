"""The registry of installed modules, so the back office lists them without importing them."""

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

EXTENSION_KEY = "shop.modules"
MENU_KEY = "shop.menu"


@dataclass(frozen=True)
class MenuEntry:
    """A back-office menu link: label, endpoint, the permission it needs, and the dropdown it sits in (if any)."""

    label: str
    endpoint: str
    permission: str = "read"
    group: str | None = None  # e.g. SETTINGS: the navbar stays one line however many modules are installed


# The dropdown holding every settings page (the shop's and each module's).
SETTINGS = "Settings"


@dataclass(frozen=True)
class InstalledModule:
    """A module as the Modules page shows it."""

    name: str
    display_name: str
    version: str
    description: str
    configure_endpoint: str | None = None
    menu: tuple[MenuEntry, ...] = field(default_factory=tuple)
    # PrestaShop's displayAdminOrder hook: given the Order, return HTML (Markup) for a panel on its page.
    admin_order_panel: Callable[[object], str] | None = None


def register_module(app: Flask, module: InstalledModule) -> None:
    """Install a module in the shop's registry."""
    app.extensions.setdefault(EXTENSION_KEY, []).append(module)


def installed_modules(app: Flask) -> list[InstalledModule]:
    """Return the installed modules in installation order."""
    return list(app.extensions.get(EXTENSION_KEY, []))


def register_menu(app: Flask, entry: MenuEntry) -> None:
    """Add a back-office menu link for a host package that is not a module (reports)."""
    app.extensions.setdefault(MENU_KEY, []).append(entry)


def navbar(entries: list[MenuEntry]) -> list[tuple[str | None, list[MenuEntry]]]:
    """Return the navbar as (group, entries): ungrouped links in their order, then one dropdown per group."""
    links = [(None, [entry]) for entry in entries if entry.group is None]
    groups: dict[str, list[MenuEntry]] = {}
    for entry in entries:
        if entry.group is not None:
            groups.setdefault(entry.group, []).append(entry)
    return links + list(groups.items())


def host_menu(app: Flask) -> list[MenuEntry]:
    """Return the menu links host packages added, in the order they were added."""
    return list(app.extensions.get(MENU_KEY, []))
