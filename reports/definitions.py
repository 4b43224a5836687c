"""What each figure of the reports means, in words: shown on the page and returned by the API."""

DEFINITIONS = {
    "gross": "Payments recorded in the period, on the payment's date (tax and shipping included).",
    "paid_orders": "Orders with a payment recorded in the period.",
    "refunds": (
        "What orders gave back in the period, on the refund's date: each credit slip's products and shipping "
        "(tax included) on the slip's date; for an order moved to a full-refund state (Refunded, Canceled, "
        "Returned) after it was paid, what was paid and not yet covered by credit slips, on the date of that "
        "change. An order never gives back more than was paid for it: a canceled unpaid order gives back "
        "nothing, and Canceled then Refunded counts the money once."
    ),
    "refund_count": "Refunds that gave money back: credit slips and full refunds (by product: product lines).",
    "refunded_orders": "Orders that gave money back in the period.",
    "chargebacks": (
        "Orders moved to a chargeback state (a state whose key or name says Chargeback) in the period; "
        "chargeback_amount is what was paid and not yet given back, counted like a full refund, plus a credit "
        "slip issued right before that move (a postback records a chargeback as such a slip)."
    ),
    "net": "Gross revenue less refunds and chargebacks.",
    "refund_rate": (
        "Refunded orders ÷ paid orders of the same period (orders refunded in the period may have been paid before it)."
    ),
    "currencies": "Every figure is per currency; amounts in different currencies are never added.",
    "product": (
        "By product only product lines count (tax included; shipping and discounts belong to no product): "
        "sold lines of the orders paid in the period; credit-slip lines; and for a full refund or a "
        "chargeback, the units no credit slip refunded."
    ),
}

RECONCILIATION_DEFINITIONS = {
    "refunded": (
        "What the order gave back in all (refunds and chargebacks, counted as on the revenue report: tax and "
        "shipping included, never more than was paid); an order is listed on the day of its latest refund or "
        "chargeback."
    ),
    "acknowledged": "Values of the events the destination accepted.",
    "waiting": "Values of the events still queued or being retried.",
    "failed": "Values of the events the destination refused or that ran out of retries (they can be resent).",
    "out_of_window": (
        "Money no event carries, and too late now: the destination's delivery window, counted from the "
        "order's last refund, has closed."
    ),
    "not_eligible": (
        "Money no event carries while the window is open, with the reason of the destination's latest "
        "decision (module disabled, state not a trigger, order unpaid, value without tax or shipping…)."
    ),
    "over_reported": "What the destination was told beyond what the order gave back.",
    "mismatch": "Some destination was not told exactly what the order gave back (anything but acknowledged).",
    "send_missing": (
        "Queues again the failed events whose destination window is still open, with the same event id. An "
        "amount no event carries comes only from the module's own decision on a later status change."
    ),
}
