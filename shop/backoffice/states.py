"""Back-office order states: the list, and the states a superadmin creates and edits."""

import hashlib

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from core.access import requires
from core.contrast import HEX_COLOR, text_color_on
from extensions import db
from shop.backoffice import bp
from shop.backoffice.custom_states import FLAGS, create_order_state, update_order_state
from shop.backoffice.forms import OrderStateForm
from shop.models import OrderState


@bp.get("/order-states")
@requires("read")
def order_states():
    """List the order states with their flags."""
    states = db.session.scalars(select(OrderState).order_by(OrderState.id))
    return render_template("backoffice/order_states.html", states=list(states), flags=FLAGS)


@bp.route("/order-states/new", methods=["GET", "POST"])
@requires("staff")
def new_order_state():
    """Create a custom order state."""
    form = OrderStateForm()
    if form.validate_on_submit():
        state = create_order_state(form.name.data, form.color.data, form.flags(), form.template.data)
        db.session.commit()
        flash(f"Order state “{state.name}” created.", "success")
        return redirect(url_for("backoffice.order_states"))
    return render_template("backoffice/order_state_form.html", form=form, state=None), 422 if form.errors else 200


@bp.route("/order-states/<int:state_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit_order_state(state_id: int):
    """Edit an order state (only name and color for the default states)."""
    state = db.session.get(OrderState, state_id)
    if state is None:
        abort(404)
    form = OrderStateForm(state=state)
    if form.validate_on_submit():
        update_order_state(state, form.name.data, form.color.data, form.flags(), form.template.data)
        db.session.commit()
        flash(f"Order state “{state.name}” saved.", "success")
        return redirect(url_for("backoffice.order_states"))
    return render_template("backoffice/order_state_form.html", form=form, state=state), 422 if form.errors else 200


@bp.get("/order-states.css")
@requires("read")
def order_state_colors():
    """Serve each order state's colors as CSS variables: the CSP forbids inline styles, and text must contrast."""
    states = db.session.scalars(select(OrderState).order_by(OrderState.id))
    rules = []
    for state in states:
        # The color was validated as #RRGGBB on save; anything else (an old row) falls back to grey.
        background = state.color if HEX_COLOR.fullmatch(state.color or "") else "#6C757D"
        foreground = text_color_on(background)
        rules.append(f'[data-state-id="{state.id}"] {{ --state-bg: {background}; --state-fg: {foreground}; }}\n')
    css = "".join(rules)
    response = make_response(css)
    response.mimetype = "text/css"
    response.set_etag(hashlib.sha256(css.encode()).hexdigest()[:32])
    response.headers["Cache-Control"] = "private, no-cache"  # revalidated: a recolored state shows at once
    return response.make_conditional(request)
