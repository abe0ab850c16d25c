"""Decode latency: CPU timing for real, and the CUDA path with only the device calls faked."""

from __future__ import annotations

import pytest
import torch

from licbench.codecs.learned import SwinTCharm
from licbench.codecs.learned.latency import (
    CudaEventTimer,
    PerfCounterTimer,
    make_stage_timer,
    measure_decode_latency,
)


@pytest.fixture
def codec_and_data(small_image):
    codec = SwinTCharm(config="tiny", weights="random")
    return codec, codec.encode(small_image, 1)


def test_cpu_latency_median_and_iqr(codec_and_data) -> None:
    codec, data = codec_and_data
    report = measure_decode_latency(codec, data, repeats=3, warmup=1)
    assert report.device == "cpu" and report.repeats == 3
    assert set(report.stages) == {"entropy", "synthesis"}
    for stats in [*report.stages.values(), report.total]:
        assert len(stats.samples) == 3 and stats.median > 0 and stats.iqr >= 0
    entropy, synthesis = report.stages["entropy"].samples, report.stages["synthesis"].samples
    sums = [e + s for e, s in zip(entropy, synthesis, strict=True)]
    assert report.total.samples == pytest.approx(tuple(sums))
    row = report.as_dict()
    assert row["entropy_median_s"] > 0 and row["environment"]["torch"] == torch.__version__
    assert isinstance(make_stage_timer("cpu"), PerfCounterTimer)


class FakeCuda:
    """Stands in for torch.cuda's device calls; records the order in which they happen."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.clock = 0

    def synchronize(self, device=None) -> None:
        self.log.append("sync")

    def event_class(self):
        fake = self

        class Event:
            def __init__(self, enable_timing: bool = False) -> None:
                assert enable_timing
                self.time: int | None = None

            def record(self, stream=None) -> None:
                fake.clock += 1
                self.time = fake.clock
                fake.log.append("record")

            def elapsed_time(self, end) -> float:
                fake.log.append("elapsed")
                return float(end.time - self.time)  # one tick = 1 ms

        return Event


def test_cuda_path_synchronizes_and_uses_events(monkeypatch, codec_and_data) -> None:
    codec, data = codec_and_data
    fake = FakeCuda()
    monkeypatch.setattr(torch.cuda, "synchronize", fake.synchronize)
    monkeypatch.setattr(torch.cuda, "Event", fake.event_class())
    assert isinstance(make_stage_timer("cuda"), CudaEventTimer)
    fake.log.clear()

    report = measure_decode_latency(codec, data, repeats=2, warmup=1, device="cuda")

    one_run = ["sync", "record", "record", "record", "record", "sync", "elapsed", "elapsed"]
    assert fake.log == one_run * 3  # warm-up + 2 repeats, each synchronized before and after
    assert report.device == "cuda"
    assert report.stages["entropy"].median == pytest.approx(0.001)
    assert report.stages["synthesis"].median == pytest.approx(0.001)
    assert report.total.median == pytest.approx(0.002) and report.total.iqr == 0


def test_codecs_without_stages_are_bracketed_by_synchronize(monkeypatch) -> None:
    fake = FakeCuda()
    monkeypatch.setattr(torch.cuda, "synchronize", fake.synchronize)

    class Classical:
        def decode_profiled(self, data):
            fake.log.append("decode")
            return None, {"total": 0.5}

    report = measure_decode_latency(Classical(), b"", repeats=2, warmup=0, device="cuda")
    assert fake.log == ["sync", "decode", "sync"] * 2
    assert report.total.median == 0.5 and report.stages == {}


def test_cuda_environment(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Fake GPU 80GB")
    codec = SwinTCharm(config="tiny", weights="random", device="cuda")
    env = codec.environment()
    assert env["device"] == "cuda" and env["device_name"] == "Fake GPU 80GB"
    assert env["entropy_device"] == "cpu" and env["threads"] == str(torch.get_num_threads())
    assert "device=cuda" in codec.version()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        measure_decode_latency(object(), b"", repeats=0)
