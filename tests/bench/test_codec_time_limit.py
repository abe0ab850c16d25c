"""A codec's own time limit per image size (``Codec.time_limit``) against ``--timeout``.

VTM takes tens of minutes on a 3-megapixel picture at a low QP: the run's ``--timeout`` (600 s by
default) must not kill such a healthy job, and a job that outlives even the codec's limit must
still be stopped. The fake codecs sleep instead of coding; each job's limit scales with its
image's pixel count, as the command-line codecs' ``timeout_per_megapixel`` does.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.bench.executors import LocalExecutor, WorkerSettings
from licbench.bench.jobs import plan_jobs
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import CODECS, Codec, create_codec
from licbench.datasets import load_dataset


class _Sleeper(Codec):
    """Sleeps ``SLEEP`` s per encode; its limit is ``PER_PIXEL`` s per pixel of the image."""

    description = "test codec: JPEG after a sleep, with a per-pixel time limit"
    qualities = (50,)
    SLEEP = 0.0
    PER_PIXEL = 0.0

    def version(self) -> str:
        return type(self).__name__

    def time_limit(self, width: int, height: int) -> float:
        return self.PER_PIXEL * width * height

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        time.sleep(self.SLEEP)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))


class SlowButWithinItsLimit(_Sleeper):
    SLEEP = 2.5  # over --timeout 1, within 32×24 px × 0.01 s = 7.7 s
    PER_PIXEL = 0.01


class HangingPastItsLimit(_Sleeper):
    SLEEP = 3600.0  # a hang: stopped at 32×24 px × 0.003 s = 2.3 s, not at --timeout 1
    PER_PIXEL = 0.003


FAKES = {"test-slow-ok": SlowButWithinItsLimit, "test-slow-hang": HangingPastItsLimit}


@pytest.fixture(scope="module", autouse=True)
def fake_codecs():
    for name, cls in FAKES.items():
        if name not in CODECS:
            CODECS.register(name, cls, origin="tests/bench/test_codec_time_limit.py")


def _run(tmp_path: Path, codecs: list[str], timeout: float):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.full((24, 32, 3), 128, np.uint8)).save(folder / "a.png")
    images = load_dataset(f"folder:{folder}").images()
    jobs = plan_jobs([create_codec(n) for n in codecs], images, ["psnr-rgb"])
    started = time.monotonic()
    with Store(tmp_path / "r.sqlite") as store, LocalExecutor(2, WorkerSettings(timeout)) as ex:
        execute(jobs, store, executor=ex, progress=False)
        records = store.get(job.key for job in jobs)
    return {job.codec: records[job.key] for job in jobs}, time.monotonic() - started


def test_a_codec_limit_above_timeout_lets_a_slow_job_finish(tmp_path):
    records, _ = _run(tmp_path, ["test-slow-ok", "jpeg"], timeout=1)
    assert records["test-slow-ok"].error is None
    assert records["test-slow-ok"].encode_s >= 2.5  # it ran past --timeout, and was left to
    assert records["jpeg"].error is None


def test_a_job_past_its_codecs_limit_is_stopped_and_says_which_limit(tmp_path):
    records, elapsed = _run(tmp_path, ["test-slow-hang"], timeout=1)
    assert records["test-slow-hang"].error == (
        f"{tmp_path / 'images' / 'a.png'}: test-slow-hang at quality 50 failed: did not finish "
        "within 2.304 s (the codec's own limit for this image size); its worker process was "
        "killed and replaced"
    )
    assert elapsed < 60


def test_no_timeout_means_no_limit_whatever_the_codec_says(tmp_path):
    # --timeout 0 (None): the codec's limit only ever raises --timeout, never sets one
    records, _ = _run(tmp_path, ["test-slow-ok"], timeout=None)
    assert records["test-slow-ok"].error is None


def test_external_codecs_scale_their_limit_with_the_picture():
    from licbench.codecs.external.definition import parse_definition

    text = (Path(__file__).parents[2] / "licbench/codecs/external/vtm.toml").read_text()
    vtm = parse_definition(text, Path("vtm.toml"))
    assert vtm.timeout_per_megapixel > 0 and not vtm.default_run
    assert vtm.tool_timeout(None) == vtm.timeout
    assert vtm.tool_timeout(2_000_000) == pytest.approx(vtm.timeout + 2 * vtm.timeout_per_megapixel)
    cls = CODECS.get("bpg")  # no per-megapixel term: a fixed limit, any size
    assert cls.definition.tool_timeout(10**8) == cls.definition.timeout
    assert create_codec("bpg").time_limit(768, 512) is None  # its jobs: --timeout alone
