"""Template filters for the back office: money with its currency, times as UTC, order-state badges."""

from datetime import UTC, datetime
from decimal import Decimal

from markupsafe import Markup

from core.dbtypes import money as to_cents
from shop.backoffice import bp
from shop.reasons import LABELS as REASON_LABELS


@bp.app_template_filter("money")
def format_money(amount: Decimal | None, currency: str = "") -> str:
    """Show an amount with two decimals and its currency code: ``23.88 EUR``."""
    if amount is None:
        return "—"
    return f"{to_cents(amount):.2f} {currency}".strip()


@bp.app_template_filter("utc")
def format_utc(moment: datetime | None) -> str:
    """Show a time as ``YYYY-MM-DD HH:MM UTC``."""
    if moment is None:
        return "—"
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


@bp.app_template_filter("state_badge")
def state_badge(state) -> Markup:
    """Show an order state as a badge in its color (from the state-colors stylesheet, not an inline style)."""
    if state is None:
        return Markup('<span class="badge text-bg-light">none</span>')
    return Markup('<span class="badge state-badge" data-state-id="{}">{}</span>').format(state.id, state.name)


@bp.app_template_filter("refund_reason")
def refund_reason(reason: str | None) -> str:
    """Show a refund reason in words (``Requested by the customer``); an unknown one as stored."""
    return REASON_LABELS.get(reason or "", reason or "—")
