"""The registry of installed modules, so the back office lists them without importing them.

Besides the menu and the order page's panel, a module may answer two generic hooks: a banner shown
on every back-office page (e.g. "test mode is on"), and what it did about status changes, so the
admin is told where they act ("Pixel Plus: Refund 96.00 EUR queued") without the shop knowing the module.
"""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask import Flask

log = logging.getLogger(__name__)

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
    # A banner for every back-office page: return HTML (Markup), or None when there is nothing to say.
    admin_banner: Callable[[], str | None] | None = None
    # What the module did about the status changes of these orders made at or after a time:
    # (order ids, since, trigger="status") → {order id: StatusChangeOutcome}; orders it has nothing
    # about are left out. trigger="credit_slip" asks about the credit slips instead.
    status_change_outcomes: Callable[..., dict[int, "StatusChangeOutcome"]] | None = None


@dataclass(frozen=True)
class StatusChangeOutcome:
    """What one module did about one status change: an event queued (with its value), or why not."""

    module: str  # the module's display name
    queued: bool
    event_name: str = ""
    value: Decimal | None = None
    currency: str | None = None
    test: bool = False  # queued as a test event (the module is in test mode)
    reason: str = ""  # why nothing was queued, in full
    reason_kind: str = ""  # the same, short and without figures, to group a bulk change's skips

    def describe(self) -> str:
        """Say it in one line: ``Pixel Plus: Refund 96.00 EUR queued (sent as test event)``."""
        if not self.queued:
            return f"{self.module}: nothing sent ({self.reason})"
        amount = f" {self.value:.2f} {self.currency}" if self.value is not None else ""
        return f"{self.module}: {self.event_name}{amount} queued" + (" (sent as test event)" if self.test else "")

    def as_json(self) -> dict:
        """Return the outcome for the JSON API (money as a string with two decimals)."""
        return {
            "module": self.module,
            "queued": self.queued,
            "event_name": self.event_name or None,
            "value": f"{self.value:.2f}" if self.value is not None else None,
            "currency": self.currency,
            "test": self.test,
            "message": self.describe(),
        }


@dataclass
class ModuleSummary:
    """A bulk change's outcomes for one module: events queued, their value per currency, skips by reason."""

    module: str
    queued: int = 0
    test: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)

    def add(self, outcome: StatusChangeOutcome) -> None:
        """Count one order's outcome."""
        if not outcome.queued:
            self.skipped[outcome.reason_kind or outcome.reason] += 1
            return
        self.queued += 1
        self.test += outcome.test
        if outcome.value is not None and outcome.currency:
            self.totals[outcome.currency] = self.totals.get(outcome.currency, Decimal("0.00")) + outcome.value

    def describe(self) -> str:
        """Say it in one line, for the flash message."""
        line = f"{self.module}: {self.queued} event{'s' if self.queued != 1 else ''} queued"
        if self.totals:
            line += " (" + ", ".join(f"{total:.2f} {currency}" for currency, total in sorted(self.totals.items())) + ")"
        if self.test:
            line += f", {self.test} sent as test event{'s' if self.test != 1 else ''}"
        if self.skipped:
            line += f", {sum(self.skipped.values())} skipped"
        return line

    def as_json(self) -> dict:
        """Return the summary for the JSON API (money as strings with two decimals)."""
        return {
            "module": self.module,
            "events_queued": self.queued,
            "test_events": self.test,
            "totals": {currency: f"{total:.2f}" for currency, total in sorted(self.totals.items())},
            "skipped": dict(self.skipped.most_common()),
        }


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


def status_change_outcomes(
    app: Flask, order_ids: Sequence[int], since: datetime, trigger: str = "status"
) -> list[dict]:
    """Ask each module what it did about these orders' status changes (or credit slips) since a time.

    Returns ``[{"module": InstalledModule, "outcomes": {order id: StatusChangeOutcome}}]``; a module
    that fails is logged and left out, so telling the admin never breaks the change already made.
    """
    answers = []
    for module in installed_modules(app):
        if module.status_change_outcomes is None:
            continue
        try:
            # Modules written before credit slips were asked about take (order ids, since) only.
            extra = {} if trigger == "status" else {"trigger": trigger}
            outcomes = module.status_change_outcomes(list(order_ids), since, **extra)
        except Exception:
            log.exception("module %s could not say what it did about a status change", module.name)
            continue
        answers.append({"module": module, "outcomes": outcomes})
    return answers


def summarize(answers: list[dict]) -> list[ModuleSummary]:
    """Sum each module's outcomes (a bulk change's report)."""
    summaries = []
    for answer in answers:
        summary = ModuleSummary(answer["module"].display_name)
        for outcome in answer["outcomes"].values():
            summary.add(outcome)
        summaries.append(summary)
    return summaries


def admin_banners(app: Flask) -> list[str]:
    """Return the banners the modules want on every back-office page; a failing module is logged and skipped."""
    banners = []
    for module in installed_modules(app):
        if module.admin_banner is None:
            continue
        try:
            banner = module.admin_banner()
        except Exception:
            log.exception("module %s could not render its banner", module.name)
            continue
        if banner:
            banners.append(banner)
    return banners
