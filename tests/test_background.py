"""The web process's background thread: it never sleeps holding a database connection or transaction."""

import threading

from sqlalchemy import select

from core.background import BackgroundThread
from extensions import db
from shop.models import OrderState
from tests.conftest import wait_for


def test_a_pass_that_only_read_gives_its_connection_back_before_sleeping(app):
    passes = threading.Event()

    def work():
        db.session.scalars(select(OrderState.id)).all()  # reads open a transaction, as a poll for jobs does
        passes.set()
        return None

    with app.app_context():
        pool = db.engine.pool
    thread = BackgroundThread(app, "test-reader", work, poll_seconds=60)
    thread.wake()
    try:
        wait_for(passes.is_set, message="the first pass")
        # While it sleeps (60 s), no connection is held: a held one would keep its transaction and locks.
        wait_for(lambda: pool.checkedout() == 0, timeout=5, message="the connection given back")
        assert thread.running
    finally:
        thread.stop()
