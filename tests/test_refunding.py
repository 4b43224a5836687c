"""The shared refund rules, pure: plain objects in, no database, no request (GA4, Ads and webhooks reuse them)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from refunding import (
    FULL,
    PARTIAL,
    ValueSettings,
    credit_slip_refund,
    default_kind,
    kind_of,
    left_to_report,
)

D = Decimal
INCL = ValueSettings(tax_incl=True, shipping_incl=True)


def order_line(line_id: int, quantity: int, incl: str, excl: str):
    return SimpleNamespace(
        id=line_id,
        product_id=100 + line_id,
        product_reference=f"REF-{line_id}",
        quantity=quantity,
        unit_price_tax_incl=D(incl),
        unit_price_tax_excl=D(excl),
    )


def credit_slip(slip_id: int, rows, products_incl: str, products_excl: str, shipping_incl="0.00", shipping_excl="0.00"):
    return SimpleNamespace(
        id=slip_id,
        lines=[SimpleNamespace(order_line_id=line.id, order_line=line, quantity=qty) for line, qty in rows],
        total_products_tax_incl=D(products_incl),
        total_products_tax_excl=D(products_excl),
        total_shipping_tax_incl=D(shipping_incl),
        total_shipping_tax_excl=D(shipping_excl),
    )


@pytest.fixture
def order():
    """2 T-shirts at 23.88 and a mug at 11.40, shipping 8.40: 67.56 EUR tax incl."""
    tshirt, mug = order_line(1, 2, "23.88", "19.90"), order_line(2, 1, "11.40", "9.50")
    return SimpleNamespace(
        currency="EUR",
        lines=[tshirt, mug],
        credit_slips=[],
        total_products_tax_incl=D("59.16"),
        total_products_tax_excl=D("49.30"),
        total_shipping_tax_incl=D("8.40"),
        total_shipping_tax_excl=D("7.00"),
        total_discounts_tax_incl=D("0.00"),
        total_discounts_tax_excl=D("0.00"),
    )


def test_full_after_a_reported_slip_reports_the_rest_with_its_lines(order):
    order.credit_slips.append(credit_slip(1, [(order.lines[0], 1)], "23.88", "19.90"))
    refund = left_to_report(order, FULL, INCL, D("23.88"))
    assert refund.value == D("43.68")
    assert refund.arithmetic == "order total 67.56 EUR − 23.88 EUR already reported = 43.68 EUR"
    assert [(line.product_reference, line.quantity) for line in refund.lines] == [("REF-1", 1), ("REF-2", 1)]


def test_full_with_an_unreported_slip_reports_the_whole_order(order):
    order.credit_slips.append(credit_slip(1, [(order.lines[0], 1)], "23.88", "19.90"))
    refund = left_to_report(order, FULL, INCL, D("0.00"))
    assert (refund.value, refund.arithmetic) == (D("67.56"), "order total 67.56 EUR")
    assert refund.num_items == 3


def test_partial_reports_the_unreported_slips_only(order):
    order.credit_slips += [
        credit_slip(1, [(order.lines[0], 1)], "23.88", "19.90"),
        credit_slip(2, [(order.lines[1], 1)], "11.40", "9.50"),
    ]
    refund = left_to_report(order, PARTIAL, INCL, D("23.88"))
    assert refund.value == D("11.40")
    assert refund.arithmetic == "credit slips #1 + #2 35.28 EUR − 23.88 EUR already reported = 11.40 EUR"
    assert [(line.product_reference, line.quantity) for line in refund.lines] == [("REF-2", 1)]


@pytest.mark.parametrize("kind", [FULL, PARTIAL])
def test_never_negative_when_more_was_reported(order, kind):
    order.credit_slips.append(credit_slip(1, [(order.lines[0], 2)], "47.76", "39.80"))
    refund = left_to_report(order, kind, INCL, D("67.56"))
    assert refund.value == D("0.00") and refund.nothing_left


def test_partial_is_capped_at_what_is_left_of_the_order(order):
    # A slip refunding more than is left unreported (an earlier full report of 60.00 on other settings).
    order.credit_slips.append(credit_slip(1, [(order.lines[0], 2)], "47.76", "39.80", "8.40", "7.00"))
    refund = left_to_report(order, PARTIAL, INCL, D("0.00"))
    assert refund.value == D("56.16")  # 47.76 + 8.40, under the order's 67.56
    capped = credit_slip_refund(order, order.credit_slips[0], INCL, D("60.00"))
    assert capped.value == D("7.56")  # 67.56 − 60.00
    assert "capped at what is left of the order: order total 67.56 EUR − 60.00 EUR" in capped.arithmetic


def test_value_settings_tax_and_shipping_out(order):
    refund = left_to_report(order, FULL, ValueSettings(tax_incl=False, shipping_incl=False), D("0.00"))
    assert refund.value == D("49.30")
    assert [line.item_price for line in refund.lines] == [D("19.90"), D("9.50")]


def test_unknown_kind_is_refused(order):
    with pytest.raises(ValueError, match="unknown refund kind"):
        left_to_report(order, "half", INCL, D("0.00"))


@pytest.mark.parametrize(
    ("key", "name", "kind"),
    [
        ("PS_OS_REFUND", "Refunded", FULL),
        ("PS_OS_CANCELED", "Canceled", FULL),
        (None, "Returned", FULL),
        (None, "Partially refunded", PARTIAL),
        (None, "  partially REFUNDED ", PARTIAL),
        (None, "Partial refund (store credit)", PARTIAL),
        (None, "Refund to store credit", FULL),
    ],
)
def test_default_kinds_by_key_then_name(key, name, kind):
    assert default_kind(SimpleNamespace(id=1, key=key, name=name)) == kind


def test_a_chosen_kind_wins_over_the_default():
    refunded = SimpleNamespace(id=7, key="PS_OS_REFUND", name="Refunded")
    assert kind_of(refunded, {7: PARTIAL}) == PARTIAL
    assert kind_of(refunded, {8: PARTIAL}) == FULL
