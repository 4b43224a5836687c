"""CSV exports of the reports, safe to open in a spreadsheet.

Labels come from customers (utm_source, utm_campaign): a cell that could start a formula gets a
leading single quote, so ``=HYPERLINK(...)`` stays text (``core.csvsafe``, shared by every export).
"""

from collections.abc import Iterable

from core.csvsafe import csv_line

REVENUE_COLUMNS = (
    "currency",
    "group_by",
    "key",
    "label",
    "gross",
    "paid_orders",
    "refunds",
    "refund_count",
    "refunded_orders",
    "chargebacks",
    "chargeback_amount",
    "net",
    "refund_rate",
)


def csv_text(rows: Iterable[Iterable]) -> str:
    """Return CSV text of rows, each text cell neutralised."""
    return "".join(csv_line(row) for row in rows)


def revenue_csv(reports, group_by: str) -> str:
    """Return the revenue report as CSV: one line per row and one total line per currency."""
    lines = [REVENUE_COLUMNS]
    for report in reports:
        for figures in [*report.rows, report.totals]:
            # Amounts go in as Decimals, which stay numbers: a negative net ("-12.00") is no formula.
            lines.append(
                [report.currency, group_by if figures is not report.totals else "total", figures.key]
                + [figures.label or figures.key]
                + [getattr(figures, column) for column in REVENUE_COLUMNS[4:]]
            )
    return csv_text(lines)
