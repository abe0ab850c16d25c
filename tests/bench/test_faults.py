"""Faults stay with their own jobs: crashing, hanging and garbage-returning codecs.

The fake codecs below are registered in the CODECS table by the test process before the pool
starts; local workers are forked, so they see them. Each misbehaves only at quality 13.
"""

from __future__ import annotations

import io
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from PIL import Image

from licbench.bench.executors import LocalExecutor, WorkerSettings, batch_size
from licbench.bench.jobs import plan_jobs
from licbench.bench.runner import execute
from licbench.bench.store import Store
from licbench.codecs import CODECS, Codec, create_codec
from licbench.datasets import load_dataset

BAD_QUALITY = 13
QUALITIES = (10, BAD_QUALITY, 20)


class _Fake(Codec):
    description = "test codec: JPEG, misbehaving at quality 13"
    qualities = QUALITIES

    def version(self) -> str:
        return f"{type(self).__name__}-1"

    def misbehave(self, image: np.ndarray) -> object:
        raise NotImplementedError

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        if quality == BAD_QUALITY:
            result = self.misbehave(image)
            if result is not None:
                return result  # type: ignore[return-value]
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
        return buffer.getvalue()

    def decode(self, data: bytes) -> np.ndarray:
        if data.startswith(b"wrong-shape"):
            return np.zeros((2, 2, 3), np.uint8)
        if data.startswith(b"not-an-array"):
            return [[0, 0, 0]]  # type: ignore[return-value]
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))


class ExitingCodec(_Fake):
    def misbehave(self, image):
        os._exit(3)


class AbortingCodec(_Fake):
    def misbehave(self, image):
        os.abort()


class HangingCodec(_Fake):
    def misbehave(self, image):
        time.sleep(3600)


class FlakyCodec(_Fake):
    """Kills its worker the first time only (a marker file remembers), like a flaky driver."""

    marker: Path

    def misbehave(self, image):
        if not self.marker.exists():
            self.marker.write_text("crashed once")
            os.kill(os.getpid(), signal.SIGKILL)
        return None


class GarbageCodec(_Fake):
    def misbehave(self, image):
        return "this is not bytes"


class WrongShapeCodec(_Fake):
    def misbehave(self, image):
        return b"wrong-shape"


class NotAnArrayCodec(_Fake):
    def misbehave(self, image):
        return b"not-an-array"


class ToolHangingCodec(_Fake):
    """Runs a command-line tool (its own process group, children and grandchildren) that
    outlives the job's --timeout, after copying the image into a temporary folder."""

    pids: Path

    def misbehave(self, image):
        import tempfile

        from licbench.codecs.external.tools import execute

        folder = tempfile.mkdtemp(prefix="tool-")
        Path(folder, "copy-of-the-image.bin").write_bytes(image.tobytes())
        script = (
            f'sleep 300 & echo $! >> {self.pids}; sh -c "sleep 300 & echo \\$! >> {self.pids}; '
            f'exec sleep 301" & echo $! >> {self.pids}; echo $$ >> {self.pids}; sleep 300'
        )
        execute(["sh", "-c", script], timeout=3600)


FAKES = {
    "test-exit": ExitingCodec,
    "test-abort": AbortingCodec,
    "test-hang": HangingCodec,
    "test-flaky": FlakyCodec,
    "test-garbage": GarbageCodec,
    "test-wrong-shape": WrongShapeCodec,
    "test-not-array": NotAnArrayCodec,
    "test-tool-hang": ToolHangingCodec,
}


@pytest.fixture(scope="module", autouse=True)
def fake_codecs():
    for name, cls in FAKES.items():
        if name not in CODECS:
            CODECS.register(name, cls, origin="tests/bench/test_faults.py")
    yield


@pytest.fixture
def small_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "small"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(folder / name)
    return folder


def run_grid(folder: Path, store_path: Path, codecs: list[str], settings: WorkerSettings):
    images = load_dataset(f"folder:{folder}").images()
    codec_objects = [create_codec(name) for name in codecs]
    jobs = plan_jobs(codec_objects, images, ["psnr-rgb"], {c: QUALITIES for c in codecs})
    with Store(store_path) as store, LocalExecutor(2, settings) as executor:
        counts = execute(jobs, store, executor=executor, progress=False)
        records = store.get(job.key for job in jobs)
        assert store.integrity_ok()
    assert len(records) == len(jobs) == counts["computed"]
    return jobs, records


def split(jobs, records, bad_codec):
    bad = {j.key for j in jobs if j.codec == bad_codec and j.quality == BAD_QUALITY}
    good = [records[j.key] for j in jobs if j.key not in bad]
    return [records[k] for k in bad], good


def test_crashing_codecs_fail_only_their_own_jobs(tmp_path, small_folder):
    jobs, records = run_grid(
        small_folder,
        tmp_path / "r.sqlite",
        ["jpeg", "test-exit", "test-abort"],
        WorkerSettings(timeout=120),
    )
    for codec, how in (
        ("test-exit", "the worker process exited with status 3"),
        ("test-abort", "the worker process was killed by SIGABRT"),
    ):
        bad, _ = split(jobs, records, codec)
        assert len(bad) == 2
        for record in bad:
            path = small_folder / record.image
            assert record.error == (
                f"{path}: {codec} at quality 13 failed: {how} while running this job, also "
                "when retried alone in a fresh worker (a crash in the codec or its libraries)"
            )
    failed = [r for r in records.values() if r.error]
    assert len(failed) == 4
    assert all(r.bpp and r.metrics["psnr-rgb"] > 5 for r in records.values() if not r.error)


def test_a_worker_killed_once_is_retried_and_succeeds(tmp_path, small_folder):
    FlakyCodec.marker = tmp_path / "crashed-once"
    jobs, records = run_grid(
        small_folder, tmp_path / "r.sqlite", ["test-flaky"], WorkerSettings(timeout=120)
    )
    assert FlakyCodec.marker.exists()
    assert all(r.ok for r in records.values()), [r.error for r in records.values()]


def live_children() -> set[int]:
    children = psutil.Process().children(recursive=True)
    return {p.pid for p in children if p.is_running() and p.status() != psutil.STATUS_ZOMBIE}


def test_a_hanging_codec_times_out_and_its_worker_is_replaced(tmp_path, small_folder):
    before = live_children()
    started = time.monotonic()
    jobs, records = run_grid(
        small_folder, tmp_path / "r.sqlite", ["jpeg", "test-hang"], WorkerSettings(timeout=2)
    )
    elapsed = time.monotonic() - started
    bad, good = split(jobs, records, "test-hang")
    assert len(bad) == 2 and all(r.ok for r in good)
    for record in bad:
        assert record.error == (
            f"{small_folder / record.image}: test-hang at quality 13 failed: did not finish "
            "within 2 s (--timeout); its worker process was killed and replaced"
        )
    assert elapsed < 60
    # the hung workers were killed, not left sleeping
    assert live_children() <= before


def test_garbage_from_a_codec_fails_only_its_own_jobs(tmp_path, small_folder):
    jobs, records = run_grid(
        small_folder,
        tmp_path / "r.sqlite",
        ["test-garbage", "test-wrong-shape", "test-not-array"],
        WorkerSettings(timeout=120),
    )
    expected = {
        "test-garbage": "while encoding: TypeError: encode returned str, not bytes",
        "test-wrong-shape": "while decoding: ValueError: decoder returned uint8 (2, 2, 3), "
        "expected uint8 (24, 32, 3)",
        "test-not-array": "while decoding: TypeError: decode returned list, not a numpy array",
    }
    for codec, text in expected.items():
        bad, good = split(jobs, records, codec)
        good = [r for r in good if r.codec == codec]
        assert len(bad) == 2 and len(good) == 4 and all(r.ok for r in good)
        for record in bad:
            assert record.error.startswith(
                f"{small_folder / record.image}: {codec} at quality 13 failed {text} (job_body.py:"
            ), record.error


def test_stopping_early_leaves_no_worker_behind(tmp_path, small_folder):
    before = live_children()
    images = load_dataset(f"folder:{small_folder}").images()
    jobs = plan_jobs([create_codec("jpeg")], images, ["psnr-rgb"], {"jpeg": range(10, 90, 5)})

    class Stop(Exception):
        pass

    def stop(record):
        raise Stop

    with Store(tmp_path / "r.sqlite") as store:
        with pytest.raises(Stop):
            execute(jobs, store, workers=2, progress=False, on_record=stop)
        assert store.count() == 1
    assert live_children() <= before


def test_batches_shrink_towards_the_end():
    assert batch_size(1000, 2) == 32
    assert batch_size(40, 2) == 5
    assert batch_size(7, 2) == 1
    assert batch_size(0, 4) == 1


def test_a_job_timeout_kills_its_tools_process_group_and_removes_its_temporary_files(
    tmp_path, small_folder
):
    ToolHangingCodec.pids = tmp_path / "pids"
    run_grid(small_folder, tmp_path / "r.sqlite", ["test-tool-hang"], WorkerSettings(timeout=3))
    pids = [int(p) for p in ToolHangingCodec.pids.read_text().split()]
    assert len(pids) == 2 * 4  # two images: the tool, a child, a grandchild's parent and it
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pids):
        time.sleep(0.2)
    assert not _alive(pids), "a tool's processes outlived the worker killed for --timeout"
    leftovers = [p for p in Path(tempfile.gettempdir()).glob("licbench-worker-*") if p.exists()]
    assert not [p for p in leftovers if any(p.rglob("copy-of-the-image.bin"))]


def _alive(pids: list[int]) -> list[int]:
    living = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                living.append(pid)
        except psutil.NoSuchProcess:
            pass
    return living
