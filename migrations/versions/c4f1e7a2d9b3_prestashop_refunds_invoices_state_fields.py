"""PrestaShop fidelity: order state fields, invoice numbers, refund amounts and types, vouchers, stock

Revision ID: c4f1e7a2d9b3
Revises: d3578066c54d
Create Date: 2026-11-29 11:26:15

Existing data keeps working: the 13 default states get PrestaShop's values (install-dev/data/xml/
order_state.xml), existing credit slips get their amount and shipping_cost_amount from their totals,
order lines their tax rate from the product and their refunded money from the slips, and orders that
already entered a state with invoice=1 their invoice number, in the order they got there.
"""

import sqlalchemy as sa
from alembic import op

import core.dbtypes

# revision identifiers, used by Alembic.
revision = "c4f1e7a2d9b3"
down_revision = "d3578066c54d"
branch_labels = None
depends_on = None

# key: module_name, hidden, unremovable, pdf_invoice, pdf_delivery, template (PrestaShop 8, English).
STATE_FIELDS = {
    "PS_OS_CHEQUE": ("ps_checkpayment", False, True, False, False, "cheque"),
    "PS_OS_PAYMENT": (None, False, True, True, False, "payment"),
    "PS_OS_PREPARATION": (None, False, True, False, False, "preparation"),
    "PS_OS_SHIPPING": (None, False, True, False, False, "shipped"),
    "PS_OS_DELIVERED": (None, False, True, False, False, None),
    "PS_OS_CANCELED": (None, False, True, False, False, "order_canceled"),
    "PS_OS_REFUND": (None, False, True, False, False, "refund"),
    "PS_OS_ERROR": (None, False, True, False, False, "payment_error"),
    "PS_OS_OUTOFSTOCK_PAID": (None, False, True, False, False, "outofstock"),
    "PS_OS_BANKWIRE": ("ps_wirepayment", False, True, False, False, "bankwire"),
    "PS_OS_WS_PAYMENT": (None, False, True, False, False, "payment"),
    "PS_OS_OUTOFSTOCK_UNPAID": (None, False, True, False, False, "outofstock"),
    "PS_OS_COD_VALIDATION": ("ps_cashondelivery", False, True, False, False, "cashondelivery"),
}


def upgrade():
    op.create_table(
        "voucher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("credit_slip_id", sa.Integer(), nullable=True),
        sa.Column("amount_tax_incl", core.dbtypes.Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", core.dbtypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["credit_slip_id"], ["credit_slip.id"]),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", name="uq_voucher_code"),
    )
    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voucher_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voucher_order_id"), ["order_id"], unique=False)

    # Plain ADD COLUMN (constant defaults): SQLite needs no table rebuild, so the rows that reference
    # these tables never see their parent dropped and recreated.
    columns = {
        "credit_slip": [
            sa.Column("amount", core.dbtypes.Money(), server_default="0", nullable=False),
            sa.Column("shipping_cost_amount", core.dbtypes.Money(), server_default="0", nullable=False),
            sa.Column("slip_type", sa.Integer(), server_default="0", nullable=False),
        ],
        "order_line": [
            sa.Column("tax_rate", sa.Numeric(precision=5, scale=2), server_default="20.00", nullable=False),
            sa.Column("restocked_quantity", sa.Integer(), server_default="0", nullable=False),
            sa.Column("total_refunded_tax_excl", core.dbtypes.Money(), server_default="0", nullable=False),
            sa.Column("total_refunded_tax_incl", core.dbtypes.Money(), server_default="0", nullable=False),
        ],
        "order_state": [
            sa.Column("module_name", sa.String(length=255), nullable=True),
            sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("unremovable", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("pdf_invoice", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("pdf_delivery", sa.Boolean(), server_default=sa.false(), nullable=False),
            sa.Column("template", sa.String(length=64), nullable=True),
        ],
        "orders": [
            sa.Column("carrier_tax_rate", sa.Numeric(precision=5, scale=2), server_default="20.00", nullable=False),
            sa.Column("invoice_number", sa.Integer(), nullable=True),
            sa.Column("invoice_date", core.dbtypes.UTCDateTime(), nullable=True),
        ],
        "product": [sa.Column("quantity", sa.Integer(), server_default="0", nullable=False)],
    }
    for table, added in columns.items():
        for column in added:
            op.add_column(table, column)
    op.create_index("ix_orders_invoice_number", "orders", ["invoice_number"], unique=True)

    _fill_existing_rows()


def _fill_existing_rows():
    bind = op.get_bind()
    for key, (module_name, hidden, unremovable, pdf_invoice, pdf_delivery, template) in STATE_FIELDS.items():
        bind.execute(
            sa.text(
                "UPDATE order_state SET module_name = :module_name, hidden = :hidden, unremovable = :unremovable,"
                " pdf_invoice = :pdf_invoice, pdf_delivery = :pdf_delivery, template = :template WHERE key = :key"
            ),
            {
                "module_name": module_name,
                "hidden": hidden,
                "unremovable": unremovable,
                "pdf_invoice": pdf_invoice,
                "pdf_delivery": pdf_delivery,
                "template": template,
                "key": key,
            },
        )
    # Money is stored as integer cents, so the totals copy over as they are. Type 2 (specific amount)
    # when shipping was refunded, as PrestaShop's OrderSlipCreator sets it.
    bind.execute(
        sa.text(
            "UPDATE credit_slip SET amount = total_products_tax_incl, shipping_cost_amount = total_shipping_tax_incl,"
            " slip_type = CASE WHEN total_shipping_tax_incl > 0 THEN 2 ELSE 0 END"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE order_line SET tax_rate = COALESCE((SELECT product.tax_rate FROM product"
            " WHERE product.id = order_line.product_id), 20.00)"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE order_line SET"
            " total_refunded_tax_excl = COALESCE((SELECT SUM(amount_tax_excl) FROM credit_slip_line"
            " WHERE credit_slip_line.order_line_id = order_line.id), 0),"
            " total_refunded_tax_incl = COALESCE((SELECT SUM(amount_tax_incl) FROM credit_slip_line"
            " WHERE credit_slip_line.order_line_id = order_line.id), 0)"
        )
    )
    invoiced = bind.execute(
        sa.text(
            "SELECT order_history.order_id, MIN(order_history.at) AS first_at FROM order_history"
            " JOIN order_state ON order_state.id = order_history.state_id WHERE order_state.invoice"
            " GROUP BY order_history.order_id ORDER BY first_at, order_history.order_id"
        )
    ).all()
    for number, (order_id, first_at) in enumerate(invoiced, start=1):
        bind.execute(
            sa.text("UPDATE orders SET invoice_number = :number, invoice_date = :at WHERE id = :id"),
            {"number": number, "at": first_at, "id": order_id},
        )


def downgrade():
    op.drop_index("ix_orders_invoice_number", table_name="orders")
    with op.batch_alter_table("product", schema=None) as batch_op:
        batch_op.drop_column("quantity")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("invoice_date")
        batch_op.drop_column("invoice_number")
        batch_op.drop_column("carrier_tax_rate")

    with op.batch_alter_table("order_state", schema=None) as batch_op:
        batch_op.drop_column("template")
        batch_op.drop_column("pdf_delivery")
        batch_op.drop_column("pdf_invoice")
        batch_op.drop_column("unremovable")
        batch_op.drop_column("hidden")
        batch_op.drop_column("module_name")

    with op.batch_alter_table("order_line", schema=None) as batch_op:
        batch_op.drop_column("total_refunded_tax_incl")
        batch_op.drop_column("total_refunded_tax_excl")
        batch_op.drop_column("restocked_quantity")
        batch_op.drop_column("tax_rate")

    with op.batch_alter_table("credit_slip", schema=None) as batch_op:
        batch_op.drop_column("slip_type")
        batch_op.drop_column("shipping_cost_amount")
        batch_op.drop_column("amount")

    with op.batch_alter_table("voucher", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voucher_order_id"))
        batch_op.drop_index(batch_op.f("ix_voucher_customer_id"))

    op.drop_table("voucher")
