"""The run request (what ``licbench run`` builds) and the plan step: one-line usage errors when
the request is made, and a plan that writes nothing."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from licbench.api import RunPlan, RunRequest, UsageError, plan
from licbench.codecs import CodecSpec
from licbench.metrics import DEFAULT_METRICS, METRIC_GROUPS, metric_availability


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bd_aggregate": "mode"}, "unknown --bd-aggregate 'mode'; choose from"),
        ({"target_bpp": [0.5, -1]}, "--target-bpp values must be positive numbers, got [-1.0]"),
        ({"target_bpp": [float("inf")]}, "--target-bpp values must be positive numbers"),
        ({"qualities": []}, "--qualities: give at least one quality"),
        ({"metrics": ["psnr-rgb", "no-such-metric"]}, "unknown metric 'no-such-metric'; known:"),
        ({"references": ["no-such-reference"]}, "no-such-reference"),
        ({"executor": "slurm"}, "unknown executor 'slurm'"),
        ({"scheduler": "tcp://localhost:8786"}, "--scheduler needs --executor dask"),
        ({"timeout": -1.0}, "--timeout must be a positive number of seconds"),
        ({"max_pixels": 0}, "--max-pixels must be at least 1"),
        ({"decode_check": ["avx3"]}, "unknown decode-check setup 'avx3'"),
        ({"decode_check": ["threads=0"]}, "threads=N takes a positive integer"),
    ],
)
def test_a_request_that_cannot_run_is_a_one_line_usage_error(options, message):
    with pytest.raises(UsageError) as caught:
        RunRequest.from_options("kodak-sample", ["jpeg"], **options)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_from_options_fills_in_the_defaults_in_their_final_types(tmp_path, monkeypatch):
    monkeypatch.setenv("LICBENCH_HOME", str(tmp_path / "home"))
    request = RunRequest.from_options(
        "folder:/some/images",
        ["jpeg,webp", "jpeg"],
        references=["cca-kodak", "cca-kodak"],
    )
    assert request.codecs == (CodecSpec("jpeg"), CodecSpec("webp"), CodecSpec("jpeg"))
    assert request.anchor == CodecSpec("jpeg")
    expected = "folder:/some/images".replace(":", "_").replace(os.sep, "_")
    assert request.out == Path("licbench-results") / expected
    assert request.store == tmp_path / "home" / "results.sqlite"
    assert request.workers == (os.cpu_count() or 1)
    assert request.metrics == DEFAULT_METRICS
    assert request.references == ("cca-kodak",)
    assert request.qualities is None and request.target_bpp == () and request.decode_check == ()
    assert RunRequest.from_options(codecs=[]).codecs is None  # none listed: every available one
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.workers = 3  # type: ignore[misc]


def test_a_metric_group_stands_for_its_members():
    members = METRIC_GROUPS["jpeg-ai"]
    if not all(metric_availability(name).ok for name in members):
        pytest.skip("a member of the jpeg-ai metric group is unavailable here")
    request = RunRequest.from_options(metrics=["psnr-y10", "jpeg-ai"])
    assert request.metrics == tuple(dict.fromkeys(["psnr-y10", *members]))


def test_a_request_made_directly_is_checked_too():
    request = RunRequest.from_options("kodak-sample", ["jpeg"])
    with pytest.raises(UsageError, match="--qualities: give at least one quality"):
        dataclasses.replace(request, qualities=())


def test_plan_writes_nothing(tmp_path, image_folder):
    out, store = tmp_path / "out", tmp_path / "store.sqlite"
    request = RunRequest.from_options(
        f"folder:{image_folder}",
        ["webp", "webp", "avif"],
        qualities=[30, 60, 30],
        out=out,
        store=store,
        workers=1,
        target_bpp=[0.5],
        decode_check=["threads=2"],
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    planned = plan(request)
    assert isinstance(planned, RunPlan)
    assert not out.exists() and not store.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    # the anchor (jpeg, not listed) first, with its own sweep; the listed codecs each once at
    # the override's qualities, each once
    labels = [codec.label for codec in planned.codecs]
    assert labels == ["jpeg", "webp", "avif"]
    by_codec: dict[str, set[float]] = {}
    for job in planned.jobs:
        by_codec.setdefault(job.codec, set()).add(job.quality)
    assert by_codec["webp"] == by_codec["avif"] == {30, 60}
    assert by_codec["jpeg"] == set(planned.codecs[0].qualities)
    assert planned.notices == [
        "codec webp is listed more than once: measured once",
        "quality 30 is listed more than once: measured once",
    ]
    manifest = planned.manifest
    assert manifest.jobs == [job.key for job in planned.jobs]
    assert manifest.store == str(store.resolve()) and manifest.anchor == "jpeg"
    assert len(manifest.images) == 3 and manifest.environment == {}
