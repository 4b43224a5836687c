"""The decision on each status change that matters (DOMAIN.md §1.2 and §2), through the real status service."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.dbtypes import utcnow
from pixelplus.models import ERROR, FIRED, SKIPPED
from pixelplus.rules import decide_status_change
from pixelplus.settings import RefundSettings
from refunding import Refund
from shop.models import OrderState
from tests.pixelplus_support import add_state, change, configure, decisions, events, state_id

PAID_ONLY = {"paid_only": True}
NOT_PAID_ONLY = {"paid_only": False}


@pytest.mark.parametrize(
    ("start", "then", "settings", "outcome", "reason"),
    [
        ("PS_OS_PAYMENT", "PS_OS_REFUND", PAID_ONLY, FIRED, "state Refunded is a refund trigger"),
        ("PS_OS_PREPARATION", "PS_OS_CANCELED", PAID_ONLY, FIRED, "state Canceled is a refund trigger"),
        ("PS_OS_BANKWIRE", "PS_OS_CANCELED", PAID_ONLY, SKIPPED, "order was never paid before this change"),
        ("PS_OS_BANKWIRE", "PS_OS_CANCELED", NOT_PAID_ONLY, FIRED, "state Canceled is a refund trigger"),
        ("PS_OS_CHEQUE", "PS_OS_REFUND", PAID_ONLY, SKIPPED, "order was never paid before this change"),
        # Paid although not logable: valid was 0 before and after, history says paid.
        ("PS_OS_OUTOFSTOCK_PAID", "PS_OS_CANCELED", PAID_ONLY, FIRED, "state Canceled is a refund trigger"),
        ("PS_OS_OUTOFSTOCK_UNPAID", "PS_OS_CANCELED", PAID_ONLY, SKIPPED, "order was never paid before this change"),
        ("PS_OS_SHIPPING", "PS_OS_DELIVERED", PAID_ONLY, SKIPPED, "state Delivered is not a refund trigger"),
        ("PS_OS_SHIPPING", "PS_OS_DELIVERED", NOT_PAID_ONLY, SKIPPED, "state Delivered is not a refund trigger"),
        ("PS_OS_PAYMENT", "PS_OS_SHIPPING", PAID_ONLY, SKIPPED, "state Shipped is not a refund trigger"),
        ("PS_OS_PAYMENT", "PS_OS_ERROR", PAID_ONLY, SKIPPED, "state Payment error is not a refund trigger"),
        ("PS_OS_PAYMENT", "PS_OS_REFUND", {"enabled": False}, SKIPPED, "module disabled"),
        ("PS_OS_PAYMENT", "PS_OS_CANCELED", {"enabled": False, "paid_only": False}, SKIPPED, "module disabled"),
    ],
)
def test_decision_on_default_transitions(app, make_order, start, then, settings, outcome, reason):
    order_id = make_order(start)
    configure(app, **settings)

    change(app, order_id, then)

    decision = decisions(app, order_id)[-1]
    assert (decision.outcome, decision.trigger) == (outcome, "status")
    assert decision.reason.startswith(reason)
    assert decision.new_state_id == state_id(app, then)
    assert decision.old_state_id == state_id(app, start)
    sent = events(app, order_id)
    assert len(sent) == (1 if outcome == FIRED else 0)
    assert decision.outbox_event_id == (sent[0].id if sent else None)


def test_refunded_order_fires_although_valid_is_already_zero(app, make_order):
    """The trap: by the time the signal fires, valid follows Refunded (0); paid-only uses the history."""
    order_id = make_order("PS_OS_PAYMENT")
    configure(app, paid_only=True)
    seen = {}

    from shop.signals import order_status_changed

    def spy(order, **extra):
        seen["valid"] = order.valid

    order_status_changed.connect(spy)
    try:
        change(app, order_id, "PS_OS_REFUND")
    finally:
        order_status_changed.disconnect(spy)

    assert seen["valid"] is False
    assert decisions(app, order_id)[-1].outcome == FIRED


def test_skipped_reason_for_unpaid_order_reads_as_documented(app, make_order):
    order_id = make_order("PS_OS_BANKWIRE")
    configure(app)
    change(app, order_id, "PS_OS_CANCELED")
    assert decisions(app, order_id)[-1].reason == "order was never paid before this change (only paid orders)"


def test_custom_returned_state_fires_once_selected(app, make_order):
    returned = add_state(app, "Returned")
    first, second = make_order("PS_OS_DELIVERED"), make_order("PS_OS_DELIVERED")
    configure(app)  # default triggers: Refunded and Canceled

    change(app, first, "Returned")
    assert decisions(app, first)[-1].outcome == SKIPPED
    assert decisions(app, first)[-1].reason == "state Returned is not a refund trigger"

    configure(app, trigger_state_ids=[state_id(app, "PS_OS_REFUND"), state_id(app, "PS_OS_CANCELED"), returned])
    change(app, second, "Returned")
    assert decisions(app, second)[-1].outcome == FIRED
    assert decisions(app, second)[-1].reason.startswith("state Returned is a refund trigger")
    assert len(events(app, second)) == 1


def test_every_status_change_gets_a_decision_even_disabled(app, make_order):
    order_id = make_order("PS_OS_BANKWIRE")  # the module is disabled by default
    change(app, order_id, "PS_OS_PAYMENT")
    change(app, order_id, "PS_OS_REFUND")
    rows = decisions(app, order_id)
    assert [d.reason for d in rows] == ["module disabled"] * 3  # creation, payment, refund
    assert rows[0].old_state_id is None


def test_enabled_without_configuration_is_skipped_with_reason(app, make_order):
    """A database edited by hand (save_settings refuses this) must not queue undeliverable events."""
    from extensions import db
    from pixelplus.models import ModuleSetting

    order_id = make_order("PS_OS_PAYMENT")
    with app.app_context():
        db.session.add(ModuleSetting(name="FCTP_REFUND_ENABLED", value="1"))
        db.session.commit()
    change(app, order_id, "PS_OS_REFUND")
    decision = decisions(app, order_id)[-1]
    assert decision.outcome == SKIPPED
    assert "pixel id or the access token is missing" in decision.reason


def test_change_older_than_meta_accepts_is_skipped(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    change(app, order_id, "PS_OS_REFUND", at=utcnow() - timedelta(days=8))
    decision = decisions(app, order_id)[-1]
    assert decision.outcome == SKIPPED
    assert "older than 7 days" in decision.reason
    assert events(app, order_id) == []


def test_no_decision_is_an_error_on_the_happy_paths(app, make_order):
    order_id = make_order("PS_OS_PAYMENT")
    configure(app)
    for key in ("PS_OS_SHIPPING", "PS_OS_DELIVERED", "PS_OS_REFUND", "PS_OS_CANCELED"):
        change(app, order_id, key)
    assert ERROR not in {d.outcome for d in decisions(app, order_id)}


# The pure decision, without a database: the order of the checks and the refund computed only when needed.


def _state(state_id: int, name: str) -> OrderState:
    return OrderState(id=state_id, name=name)


def _settings(**values) -> RefundSettings:
    base = {"enabled": True, "pixel_id": "1", "access_token": "t" * 20, "trigger_state_ids": (6, 7)}
    return RefundSettings(**{**base, **values})


def _refund(value: str, reported: str = "0.00", arithmetic: str = "order total") -> Refund:
    return Refund(Decimal(value), "EUR", (), "full", arithmetic, Decimal(reported))


def test_refund_is_not_computed_for_a_skip():
    def explode():
        raise AssertionError("the refund must not be computed when the state is no trigger")

    verdict = decide_status_change(_settings(), _state(4, "Shipped"), True, utcnow(), explode)
    assert verdict.outcome == SKIPPED


@pytest.mark.parametrize(
    ("refund", "outcome", "reason"),
    [
        (
            _refund("59.90", arithmetic="order total 59.90 EUR"),
            FIRED,
            "state Refunded is a refund trigger (full refund): reporting 59.90 EUR (order total 59.90 EUR; tax incl.",
        ),
        (_refund("0.00", "59.90", "the sum"), SKIPPED, "nothing left to report: the sum; tax incl."),
        (_refund("0.00", arithmetic="order total 0.00 EUR"), SKIPPED, "nothing to report: order total 0.00 EUR"),
        (_refund("10.00", "49.90"), FIRED, "state Refunded is a refund trigger (full refund): reporting 10.00 EUR"),
    ],
)
def test_what_is_left_to_report(refund, outcome, reason):
    verdict = decide_status_change(_settings(), _state(7, "Refunded"), True, utcnow(), lambda: refund)
    assert verdict.outcome == outcome
    assert verdict.reason.startswith(reason)
    assert (verdict.refund is refund) == (outcome == FIRED)
