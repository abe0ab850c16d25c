from __future__ import annotations

import hashlib

import pytest

from licbench.bench.job_body import run_job
from licbench.bench.jobs import plan_jobs
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import create_codec
from licbench.datasets import ImageRef, load_dataset

COMPARED = ("codec", "quality", "image_sha256", "width", "height", "bytes", "bpp", "metrics")


def grid(image_folder, qualities=(10, 40, 80)):
    images = load_dataset(f"folder:{image_folder}").images()
    codecs = [create_codec("jpeg"), create_codec("webp")]
    return plan_jobs(
        codecs, images, ["psnr-rgb", "ms-ssim-rgb"], {"jpeg": qualities, "webp": qualities}
    )


def snapshot(store: Store, jobs) -> dict[str, tuple]:
    records = store.get(job.key for job in jobs)
    return {k: tuple(getattr(r, f) for f in COMPARED) for k, r in records.items()}


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, image_folder, workers):
    jobs = grid(image_folder)
    assert len(jobs) == 2 * 3 * 3

    with Store(tmp_path / "full.sqlite") as full:
        counts = execute(jobs, full, workers=workers, progress=False)
        assert counts == {"total": 18, "cached": 0, "computed": 18, "same_bytes": 0, "failed": 0}
        expected = snapshot(full, jobs)

    class Interrupt(Exception):
        pass

    seen = []

    def stop_after_seven(record):
        seen.append(record.job_key)
        if len(seen) == 7:
            raise Interrupt

    with Store(tmp_path / "resumed.sqlite") as store:
        with pytest.raises(Interrupt):
            execute(jobs, store, workers=workers, progress=False, on_record=stop_after_seven)
        assert store.count() == 7
        counts = execute(jobs, store, workers=workers, progress=False)
        assert counts["cached"] == 7 and counts["computed"] == 11
        assert store.count() == 18
        assert snapshot(store, jobs) == expected
        # a third run computes nothing
        assert execute(jobs, store, workers=workers, progress=False)["computed"] == 0


def test_bpp_is_from_the_bytes(tmp_path, image_folder):
    job = grid(image_folder, qualities=(50,))[0]
    record = run_job(job)
    assert record.error is None
    assert record.bpp == 8 * record.bytes / (record.width * record.height)
    data = create_codec("jpeg").encode(
        __import__("numpy").asarray(__import__("PIL.Image").Image.open(job.image.path)), 50
    )
    assert record.bytes == len(data)


def test_failing_job_is_a_row_naming_the_file(tmp_path, image_folder):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really")
    ref = ImageRef("broken.png", bad, hashlib.sha256(bad.read_bytes()).hexdigest())
    jobs = plan_jobs([create_codec("jpeg")], [ref], ["psnr-rgb"], {"jpeg": [50]})
    with Store(tmp_path / "r.sqlite") as store:
        counts = execute(jobs, store, progress=False)
        assert counts["failed"] == 1
        record = store.get([jobs[0].key])[jobs[0].key]
    assert "broken.png" in record.error and "not a readable image" in record.error


def test_a_codec_that_raises_only_fails_its_own_jobs(tmp_path, image_folder, monkeypatch):
    jobs = grid(image_folder, qualities=(30,))
    from licbench.codecs.pillow import WebP

    def explode(self, image, quality):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(WebP, "encode", explode)
    with Store(tmp_path / "r.sqlite") as store:
        counts = execute(jobs, store, workers=1, progress=False)
        records = store.get(job.key for job in jobs)
    assert counts["failed"] == 3
    failed = [r for r in records.values() if r.error]
    assert {r.codec for r in failed} == {"webp"}
    assert all("encoder crashed" in r.error and "while encoding" in r.error for r in failed)


def test_job_key_changes_with_a_metric_version(image_folder, monkeypatch):
    """A metric whose implementation moved must not be served from rows computed the old way."""
    import dataclasses

    from licbench.metrics import METRICS

    images = load_dataset(f"folder:{image_folder}").images()[:1]
    before = plan_jobs([create_codec("jpeg")], images, ["ms-ssim-rgb"])[0].key
    newer = dataclasses.replace(METRICS.get("ms-ssim-rgb"), version="99")
    monkeypatch.setitem(METRICS._entries, "ms-ssim-rgb", newer)
    assert plan_jobs([create_codec("jpeg")], images, ["ms-ssim-rgb"])[0].key != before
