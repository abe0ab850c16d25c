"""Building the outputs pauses Python's cycle collector and always gives it back as it was."""

from __future__ import annotations

import gc

import pytest

from licbench.reports.outputs import _without_cycle_collection


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_paused_inside_and_on_again_after(collector_on):
    with _without_cycle_collection():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_on_again_after_an_error(collector_on):
    with pytest.raises(KeyboardInterrupt), _without_cycle_collection():
        raise KeyboardInterrupt
    assert gc.isenabled()


def test_a_caller_that_turned_it_off_keeps_it_off(collector_on):
    gc.disable()
    with _without_cycle_collection():
        assert not gc.isenabled()
    assert not gc.isenabled()
