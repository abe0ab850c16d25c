"""Numeric setups: names, the environment each gives a fresh process, and that it takes hold."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from licbench.core.numerics import (
    ISA_ENV,
    NumericSetup,
    SetupError,
    default_setups,
    parse_setup,
)


def test_names_parse_to_one_varied_thing_each() -> None:
    sse41 = parse_setup("SSE41", threads=1)
    assert sse41.env == ISA_ENV["sse41"] and sse41.threads == 1 and sse41.device == "cpu"
    assert parse_setup("threads=3").threads == 3 and not parse_setup("threads=3").env
    assert parse_setup("cuda").device == "cuda" and parse_setup("cuda").encode_device == "cpu"
    assert parse_setup("cuda-encode").encode_device == "cuda"
    for bad in ("avx3", "threads=0", "threads=x", ""):
        with pytest.raises(SetupError):
            parse_setup(bad)


def test_defaults_vary_the_isa_and_the_thread_count() -> None:
    assert [s.name for s in default_setups(run_threads=1)] == ["sse41", "threads=2"]
    assert [s.name for s in default_setups(run_threads=4)] == ["sse41", "threads=1"]
    assert [s.name for s in default_setups(cuda=True)][-2:] == ["cuda", "cuda-encode"]


def test_each_setup_varies_one_thing_of_the_inherited_environment() -> None:
    inherited = {"PATH": "/bin", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    env = parse_setup("threads=02").environment({**inherited, "OMP_NUM_THREADS": "7"})
    assert parse_setup("threads=02").name == "threads=2"
    assert env == {**inherited, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}  # caps kept
    env = parse_setup("sse41").environment(inherited)  # an ISA setup replaces the caps
    assert env["ONEDNN_MAX_CPU_ISA"] == "SSE41" and "MKL_ENABLE_INSTRUCTIONS" not in env
    assert "SSE4.1" in NumericSetup("sse41", ISA_ENV["sse41"]).description


def test_the_sse41_setup_takes_hold_in_a_fresh_process() -> None:
    """What CI relies on to know ``ONEDNN_MAX_CPU_ISA`` worked: oneDNN says which ISA it uses."""
    command = [sys.executable, "-m", "licbench.core.numerics"]
    env = parse_setup("sse41", threads=1).environment()
    seen = json.loads(subprocess.run(command, env=env, capture_output=True, text=True).stdout)
    assert seen["onednn_isa"] == "Intel SSE4.1"
    assert seen["aten_capability"] == "DEFAULT" and seen["threads"] == "1"
    assert seen["mkl"] == "COMPATIBLE"
