"""Template filters for the back office: money with its currency, times as UTC."""

from datetime import UTC, datetime
from decimal import Decimal

from markupsafe import Markup

from core.dbtypes import money as to_cents
from shop.backoffice import bp


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
    """Show an order state as a badge in its color, with readable text on it."""
    if state is None:
        return Markup('<span class="badge text-bg-light">none</span>')
    text_color = "#000" if _is_light(state.color) else "#fff"
    return Markup('<span class="badge state-badge" style="background-color: {}; color: {}">{}</span>').format(
        state.color, text_color, state.name
    )


def _is_light(color: str) -> bool:
    """Whether black text reads better than white on color (``#RRGGBB``)."""
    try:
        red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    except (TypeError, ValueError):
        return True
    return (0.299 * red + 0.587 * green + 0.114 * blue) > 160
