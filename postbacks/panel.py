"""The postbacks panel on the back-office order page: what networks and Stripe sent about the order."""

from flask import render_template
from markupsafe import Markup
from sqlalchemy import select

from extensions import db
from postbacks.models import Postback


def render(order) -> Markup:
    """Return the panel's HTML for order (the shop's displayAdminOrder hook)."""
    postbacks = list(db.session.scalars(select(Postback).where(Postback.order_id == order.id).order_by(Postback.id)))
    # The template is autoescaped: Markup only marks its output as the HTML it already is.
    return Markup(render_template("postbacks/order_panel.html", order=order, postbacks=postbacks))  # noqa: S704
