"""The JSON shapes of the shop's API: order states, products, orders, credit slips.

Money is a string with two decimals ("59.90") so no client parses it as a float; times are
ISO 8601 in UTC with an explicit offset ("2026-05-01T09:30:00+00:00"); flags are JSON booleans.
"""

from datetime import datetime
from decimal import Decimal

from core.dbtypes import money
from shop.models import CreditSlip, Employee, Order, OrderHistory, OrderLine, OrderState, Product, Voucher


def money_str(amount: Decimal) -> str:
    """Return an amount as a string with two decimals."""
    return f"{money(amount):.2f}"


def time_str(moment: datetime | None) -> str | None:
    """Return an aware UTC time in ISO 8601."""
    return moment.isoformat() if moment else None


def employee_str(employee: Employee | None) -> str | None:
    """Return who acted: the employee's e-mail, or None for the system or the customer."""
    return employee.email if employee else None


def order_state_json(state: OrderState) -> dict:
    """Return an order state with its flags."""
    return {
        "id": state.id,
        "key": state.key,
        "name": state.name,
        "logable": state.logable,
        "paid": state.paid,
        "shipped": state.shipped,
        "delivery": state.delivery,
        "invoice": state.invoice,
        "send_email": state.send_email,
        "color": state.color,
        "module_name": state.module_name,
        "hidden": state.hidden,
        "unremovable": state.unremovable,
        "pdf_invoice": state.pdf_invoice,
        "pdf_delivery": state.pdf_delivery,
        "template": state.template,
    }


def product_json(product: Product) -> dict:
    """Return a catalog product."""
    return {
        "id": product.id,
        "reference": product.reference,
        "name": product.name,
        "price_tax_excl": money_str(product.price_tax_excl),
        "price_tax_incl": money_str(product.price_tax_incl),
        "tax_rate": f"{Decimal(product.tax_rate):.2f}",
        "active": product.active,
    }


def order_line_json(line: OrderLine) -> dict:
    """Return an order line with its refunded quantity."""
    return {
        "id": line.id,
        "product_id": line.product_id,
        "product_reference": line.product_reference,
        "product_name": line.product_name,
        "quantity": line.quantity,
        "refunded_quantity": line.refunded_quantity,
        "returned_quantity": line.returned_quantity,
        "restocked_quantity": line.restocked_quantity,
        "tax_rate": f"{Decimal(line.tax_rate):.2f}",
        "total_refunded_tax_incl": money_str(line.total_refunded_tax_incl),
        "total_refunded_tax_excl": money_str(line.total_refunded_tax_excl),
        "refundable_amount": money_str(line.refundable_amount),
        "unit_price_tax_incl": money_str(line.unit_price_tax_incl),
        "unit_price_tax_excl": money_str(line.unit_price_tax_excl),
    }


def history_json(entry: OrderHistory) -> dict:
    """Return one state the order entered."""
    return {
        "state_id": entry.state_id,
        "state_name": entry.state.name,
        "at": time_str(entry.at),
        "employee": employee_str(entry.employee),
        "reason": entry.reason,
        "note": entry.note,
    }


def credit_slip_json(slip: CreditSlip) -> dict:
    """Return a credit slip with its lines."""
    return {
        "id": slip.id,
        "order_id": slip.order_id,
        "at": time_str(slip.at),
        "employee": employee_str(slip.employee),
        "total_products_tax_excl": money_str(slip.total_products_tax_excl),
        "total_products_tax_incl": money_str(slip.total_products_tax_incl),
        "total_shipping_tax_excl": money_str(slip.total_shipping_tax_excl),
        "total_shipping_tax_incl": money_str(slip.total_shipping_tax_incl),
        "amount_tax_excl": money_str(slip.amount_tax_excl),
        "amount_tax_incl": money_str(slip.amount_tax_incl),
        # PrestaShop's order_slip fields: products refunded (tax incl), shipping refunded, order_slip_type.
        "amount": money_str(slip.amount),
        "shipping_cost_amount": money_str(slip.shipping_cost_amount),
        "slip_type": slip.slip_type,
        "reason": slip.reason,
        "note": slip.note,
        "lines": [
            {
                "order_line_id": row.order_line_id,
                "product_id": row.order_line.product_id,
                "quantity": row.quantity,
                "amount_tax_excl": money_str(row.amount_tax_excl),
                "amount_tax_incl": money_str(row.amount_tax_incl),
            }
            for row in slip.lines
        ],
    }


def voucher_json(voucher: Voucher | None) -> dict | None:
    """Return a refund voucher (its code is the customer's to use, not a secret of the shop)."""
    if voucher is None:
        return None
    return {
        "id": voucher.id,
        "code": voucher.code,
        "order_id": voucher.order_id,
        "credit_slip_id": voucher.credit_slip_id,
        "amount_tax_incl": money_str(voucher.amount_tax_incl),
        "currency": voucher.currency,
        "created_at": time_str(voucher.created_at),
    }


def order_summary_json(order: Order) -> dict:
    """Return the order as the orders list shows it."""
    state = order.current_state
    return {
        "id": order.id,
        "reference": order.reference,
        "customer_email": order.customer.email,
        "currency": order.currency,
        "valid": order.valid,
        "current_state": {"id": state.id, "name": state.name} if state else None,
        "total_paid_tax_incl": money_str(order.total_paid_tax_incl),
        "created_at": time_str(order.created_at),
    }


def order_json(order: Order) -> dict:
    """Return an order with its customer, lines, history and credit slips."""
    customer = order.customer
    state = order.current_state
    return {
        "id": order.id,
        "reference": order.reference,
        "currency": order.currency,
        "valid": order.valid,
        "current_state": {"id": state.id, "key": state.key, "name": state.name} if state else None,
        "payment_method": order.payment_method,
        "created_at": time_str(order.created_at),
        "customer": {
            "id": customer.id,
            "email": customer.email,
            "firstname": customer.firstname,
            "lastname": customer.lastname,
            "phone": customer.phone,
            "city": customer.city,
            "state": customer.state,
            "postcode": customer.postcode,
            "country": customer.country,
        },
        "total_products_tax_incl": money_str(order.total_products_tax_incl),
        "total_products_tax_excl": money_str(order.total_products_tax_excl),
        "total_shipping_tax_incl": money_str(order.total_shipping_tax_incl),
        "total_shipping_tax_excl": money_str(order.total_shipping_tax_excl),
        "total_discounts_tax_incl": money_str(order.total_discounts_tax_incl),
        "total_paid_tax_incl": money_str(order.total_paid_tax_incl),
        "total_paid_tax_excl": money_str(order.total_paid_tax_excl),
        "amount_paid": money_str(order.amount_paid),
        "refunded_total": money_str(order.refunded_total),
        "invoice_number": order.invoice_number,
        "invoice_date": time_str(order.invoice_date),
        "carrier_tax_rate": f"{Decimal(order.carrier_tax_rate):.2f}",
        "has_browser_data": order.has_browser_data,
        "click_id": order.click_id,
        "lines": [order_line_json(line) for line in order.lines],
        "history": [history_json(entry) for entry in order.history],
        "credit_slips": [credit_slip_json(slip) for slip in order.credit_slips],
        "vouchers": [voucher_json(voucher) for voucher in order.vouchers],
    }
