"""Rate targeting: the bisection rule on fake monotone codecs, and a real JPEG run."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image

from licbench.api import report as licbench_report
from licbench.api import run
from licbench.bench.executors import InlineExecutor
from licbench.bench.jobs import plan_jobs
from licbench.bench.rate_target import (
    QualitySearch,
    find_target_qualities,
    format_target,
    make_job,
    search_quality,
)
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import CODECS, Codec, create_codec
from licbench.datasets import load_dataset

# ------------------------------------------------------------------------------------------
# the search alone, against a function quality -> bpp
# ------------------------------------------------------------------------------------------


def counted(function):
    calls = []

    def measure(quality):
        calls.append(quality)
        return function(quality)

    return measure, calls


def brute_force(function, target, q_min, q_max):
    """The rule, by trying every integer quality: the largest q with bpp(q) <= target."""
    under = [q for q in range(q_min, q_max + 1) if function(q) <= target]
    return max(under) if under else None


@pytest.mark.parametrize("target", [0.013, 0.2, 0.255, 0.5, 0.77, 0.999])
def test_integer_search_finds_the_largest_quality_under_the_target(target):
    def bpp(q):
        return 0.01 * q + 0.002 * math.sqrt(q)  # strictly increasing

    measure, calls = counted(bpp)
    search = search_quality(measure, target, (1, 100), integer=True)
    assert search.status == "ok"
    assert search.chosen == brute_force(bpp, target, 1, 100)
    assert bpp(search.chosen) <= target < bpp(search.chosen + 1)
    assert len(calls) <= search.max_probes == 2 + 7  # log2(99) -> 7 halvings
    assert len(calls) == len(set(calls))  # never the same quality twice


def test_steps_in_bpp_choose_the_last_quality_of_the_step():
    def bpp(q):
        return 0.1 * (q // 10)  # flat steps: many qualities give the same bytes

    search = search_quality(bpp, 0.35, (0, 100))
    assert search.chosen == 39  # the largest quality with bpp <= 0.35 (0.3 for 30..39)


def test_targets_outside_the_range_take_the_end_and_say_so():
    def bpp(q):
        return 0.1 + 0.01 * q

    low = search_quality(bpp, 0.05, (0, 100))
    assert (low.chosen, low.status) == (0, "above") and low.probes == [0]
    high = search_quality(bpp, 5.0, (0, 100))
    assert (high.chosen, high.status) == (100, "below") and high.probes == [0, 100]


def test_known_points_narrow_the_bracket_without_changing_the_answer():
    def bpp(q):
        return q / 100

    plain, plain_calls = counted(bpp)
    without = search_quality(plain, 0.421, (0, 100))
    helped, helped_calls = counted(bpp)
    known = {q: bpp(q) for q in (10, 40, 70, 90)}  # a sweep already measured
    with_known = search_quality(helped, 0.421, (0, 100), known=known)
    assert without.chosen == with_known.chosen == 42
    assert len(helped_calls) < len(plain_calls)
    assert set(helped_calls).isdisjoint(known)  # known points are never measured again


def test_continuous_quality_search_is_bounded_and_keeps_the_rule():
    def bpp(q):
        return 0.9 * q  # like JPEG 2000, whose quality is a target bpp

    measure, calls = counted(bpp)
    search = search_quality(measure, 0.5, (0.02, 8.0), integer=False)
    assert search.status == "ok"
    assert bpp(search.chosen) <= 0.5
    assert 0.5 - bpp(search.chosen) <= 0.9 * (8.0 - 0.02) / 1024  # within one final step
    assert len(calls) <= search.max_probes == 2 + 10


def test_non_monotone_codec_still_gets_a_local_guarantee():
    wiggle = {q: 0.01 * q + (0.05 if q % 7 == 0 else 0.0) for q in range(101)}
    search = search_quality(wiggle.__getitem__, 0.5, (0, 100))
    q = search.chosen
    assert wiggle[q] <= 0.5
    # the quality just above the chosen one, which the search measured, exceeds the target
    assert any(p > q and wiggle[p] > 0.5 and p - q <= 1 for p in search.measured)


def test_a_failed_probe_stops_the_search_with_its_error():
    search = QualitySearch(0.5, (0, 100), True)
    quality = search.next_quality()
    search.observe(quality, None, "encoder crashed")
    assert search.status == "error" and search.error == "encoder crashed"
    assert search.next_quality() is None


# ------------------------------------------------------------------------------------------
# the driver, with a fake monotone codec, through the real runner and store
# ------------------------------------------------------------------------------------------


class LinearCodec(Codec):
    """Bytes grow linearly with quality: a header with the shape, then quality*100 filler bytes."""

    description = "fake codec for tests: bytes = 100 * quality + header"
    quality_range = (0, 100)
    qualities = (10, 50, 90)

    def version(self) -> str:
        return "linear-1"

    def encode(self, image, quality):
        h, w = image.shape[:2]
        return h.to_bytes(4, "big") + w.to_bytes(4, "big") + bytes(int(100 * quality))

    def decode(self, data):
        h, w = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
        return np.zeros((h, w, 3), np.uint8)


@pytest.fixture
def linear_codec(monkeypatch):
    CODECS.names()  # load plugins first, so the fake entry is the last one added
    monkeypatch.setitem(CODECS._entries, "test-linear", LinearCodec)
    monkeypatch.setitem(CODECS._origins, "test-linear", "tests")
    return create_codec("test-linear")


def test_every_probe_is_a_stored_job_with_the_sweep_key(tmp_path, image_folder, linear_codec):
    images = load_dataset(f"folder:{image_folder}").images()
    metrics = ["psnr-rgb"]
    sweep = plan_jobs([linear_codec], images, metrics)
    pixels = {image.sha256: np.asarray(Image.open(image.path)).shape[:2] for image in images}
    inline = InlineExecutor()  # in this process: the fake codec needs no isolation
    with Store(tmp_path / "s.sqlite") as store:
        execute(sweep, store, executor=inline, progress=False)
        known = {}
        for job in sweep:
            record = store.get([job.key])[job.key]
            known.setdefault((job.codec, job.image.sha256), {})[job.quality] = record.bpp
        targets = [0.3, 1.0]
        choices, counts = find_target_qualities(
            [linear_codec], images, metrics, targets, store, known=known, executor=inline
        )
        assert counts["computed"] == counts["probes"] > 0
        for target in targets:
            for image in images:
                choice = choices["test-linear"][format_target(target)][image.sha256]
                h, w = pixels[image.sha256]

                def bpp(q, h=h, w=w):
                    return 8 * (8 + int(100 * q)) / (h * w)

                assert choice["status"] == "ok"
                assert choice["quality"] == brute_force(bpp, target, 0, 100)
                assert choice["bpp"] == pytest.approx(bpp(choice["quality"]))
                # the chosen point is the job a sweep at that quality would be
                job = make_job(linear_codec, choice["quality"], image, metrics)
                assert choice["job_key"] == job.key
                assert store.get([job.key])[job.key].bpp == pytest.approx(choice["bpp"])
                assert len(choice["probes"]) <= 2 + 7
        # a second search computes nothing: every probe is in the store
        again, counts_again = find_target_qualities(
            [linear_codec], images, metrics, targets, store, known=known, executor=inline
        )
        assert again == choices
        assert counts_again["computed"] == 0 and counts_again["cached"] == counts["probes"]


def test_targets_must_be_positive(tmp_path, linear_codec):
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="positive"):
        find_target_qualities([linear_codec], [], ["psnr-rgb"], [0.0], store)


# ------------------------------------------------------------------------------------------
# a real JPEG run
# ------------------------------------------------------------------------------------------


def jpeg_bpp(image: np.ndarray, quality: int) -> float:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return 8 * len(buffer.getvalue()) / (image.shape[0] * image.shape[1])


def test_real_jpeg_run_with_target_bpp(tmp_path, image_folder):
    store_path = tmp_path / "store.sqlite"
    kwargs = dict(
        dataset=f"folder:{image_folder}",
        codecs=["jpeg"],
        qualities=[20, 60, 90],
        out=tmp_path / "out",
        store=store_path,
        workers=2,
        metrics=("psnr-rgb",),
        progress=False,
        target_bpp=[0.6, 1.2],
    )
    result = run(**kwargs)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    section = summary["target_bpp"]
    assert section["targets"] == [0.6, 1.2] and "largest quality" in section["rule"]
    images = {i.name: i for i in load_dataset(f"folder:{image_folder}").images()}
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    for target in ("0.6", "1.2"):
        entry = section["codecs"]["jpeg"][target]
        assert entry["images"] == entry["at_target"] == 3
        for name, point in entry["per_image"].items():
            pixels = np.asarray(Image.open(images[name].path))
            q = int(point["quality"])
            assert point["bpp"] == pytest.approx(jpeg_bpp(pixels, q))
            assert jpeg_bpp(pixels, q) <= float(target) < jpeg_bpp(pixels, q + 1)
            assert point["psnr-rgb"] > 20
        mean = sum(p["bpp"] for p in entry["per_image"].values()) / 3
        assert entry["bpp"] == pytest.approx(mean)
        assert entry["bpp"] <= float(target)
    # the chosen jobs are recorded with their keys; the sweep's curve is untouched
    choices = manifest["target_choices"]["jpeg"]["0.6"]
    assert all(len(c["job_key"]) == 32 for c in choices.values())
    assert summary["codecs"]["jpeg"]["results"]["quality"] == [20.0, 60.0, 90.0]
    assert result.counts["target_probes"] > 0
    # run again: the sweep and every probe come from the store
    again = run(**kwargs)
    assert again.counts["computed"] == 0 and again.counts["target_probes"] == 0
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["target_bpp"] == section


def test_files_with_equal_bytes_each_get_their_target_points(tmp_path, image_folder):
    (image_folder / "sub" / "c.png").unlink()  # a.png and b.png differ; the copy equals a.png
    (image_folder / "copy-of-a.png").write_bytes((image_folder / "a.png").read_bytes())
    note = "same bytes as a.png: computed once for both"
    result = run(
        dataset=f"folder:{image_folder}",
        codecs=["jpeg"],
        qualities=[20, 60, 90],
        out=tmp_path / "out",
        store=tmp_path / "store.sqlite",
        workers=1,
        metrics=("psnr-rgb",),
        progress=False,
        target_bpp=[0.6, 1.2],
    )
    out = result.out
    summary = json.loads((out / "summary.json").read_text())
    manifest = json.loads((out / "run.json").read_text())
    html = (out / "report.html").read_text(encoding="utf-8")
    for target in ("0.6", "1.2"):
        assert len(manifest["target_choices"]["jpeg"][target]) == 2  # one search per bytes
        entry = summary["target_bpp"]["codecs"]["jpeg"][target]
        points = entry["per_image"]
        assert sorted(points) == ["a.png", "b.png", "copy-of-a.png"]
        copy, original = dict(points["copy-of-a.png"]), points["a.png"]
        assert copy.pop("notes") == note
        assert copy == original  # quality, status, probes, bpp and every metric
        assert "notes" not in original and "notes" not in points["b.png"]
        # each file counts once, as in the RD curves and the per-image BD-rate statistics
        assert entry["images"] == entry["at_target"] == 3
        bpps = [p["bpp"] for p in points.values()]
        assert entry["bpp"] == pytest.approx(sum(bpps) / 3)
        assert entry["psnr-rgb"] == pytest.approx(sum(p["psnr-rgb"] for p in points.values()) / 3)
        quality = format(float(copy["quality"]), ".6g")
        assert f"copy-of-a.png: {quality} ({note})" in html
    assert sorted(summary["per_image_curves"]["jpeg"]) == ["a.png", "b.png", "copy-of-a.png"]
    # the target rows (the per-image table of the chosen jobs): the copy's rows are a.png's
    from licbench.bench.manifest import RunManifest
    from licbench.reports.outputs import build

    with Store(tmp_path / "store.sqlite", create=False, read_only=True) as store:
        frame = build(RunManifest.load(out), store).target_frame
    columns = ["codec", "quality", "bpp", "psnr_rgb", "image_sha256", "job_key"]
    copy_rows = frame[frame["image"] == "copy-of-a.png"]
    original_rows = frame[frame["image"] == "a.png"]
    assert len(copy_rows) == len(original_rows) > 0
    assert copy_rows[columns].to_dict("records") == original_rows[columns].to_dict("records")
    assert set(copy_rows["notes"]) == {note} and set(original_rows["notes"]) == {""}
    # summary.json reads back: the notes travel, and a rebuilt report keeps them
    licbench_report(out)
    assert json.loads((out / "summary.json").read_text())["target_bpp"] == summary["target_bpp"]


def test_cli_rejects_non_positive_targets(tmp_path, image_folder, capsys):
    from licbench.cli import main

    args = ["run", "--dataset", f"folder:{image_folder}", "--out", str(tmp_path / "o")]
    assert main([*args, "--codecs", "jpeg", "--target-bpp", "0.5,0"]) == 2
    assert "--target-bpp" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
