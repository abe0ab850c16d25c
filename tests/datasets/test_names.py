"""Any file name becomes text that UTF-8 outputs can hold; valid names are left as they are."""

from __future__ import annotations

import os

import pytest

from licbench.datasets.names import printable

hypothesis = pytest.importorskip("hypothesis")
strategies = pytest.importorskip("hypothesis.strategies")


@hypothesis.given(strategies.binary(min_size=1, max_size=40))
def test_any_bytes_name_becomes_writable_text(raw):
    name = printable(os.fsdecode(raw))
    name.encode("utf-8")  # never raises: SQLite, CSV, JSON and HTML can all hold it
    try:
        assert name == raw.decode("utf-8")  # a valid UTF-8 name is unchanged
    except UnicodeDecodeError:
        assert "\\x" in name


def test_examples():
    assert printable(os.fsdecode(b"caf\xe9.png")) == "caf\\xe9.png"
    assert printable("café.png") == "café.png"
    assert printable("\ud800.png") == "\\ud800.png"
