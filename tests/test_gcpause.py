"""The bulk change's pause of the garbage collector: always given back, shared by nested and concurrent blocks."""

import gc
import threading

from core.gcpause import collections_paused


def test_the_collector_runs_again_after_the_block_even_when_it_raises():
    assert gc.isenabled()
    try:
        with collections_paused():
            assert not gc.isenabled()
            raise ValueError("an order failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_overlapping_blocks_in_two_threads_end_with_the_collector_on():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def first():
        with collections_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with collections_paused():
            second_in.set()
            first_out.wait(5)
            seen.append(gc.isenabled())  # the first block ended while this one runs: still paused

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    try:
        with collections_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
