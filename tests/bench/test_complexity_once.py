"""A learned codec's complexity figure is measured on the jobs, once per codec, quality and image
size, and kept in the store (issue 21, item 5).

The workers are forked from this process, so what is patched here runs there too; calls are
counted in a file (a worker's list would die with it) and each call says which process made it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image

from licbench import api
from licbench.bench import job_memory
from licbench.bench.jobs import codec_key
from licbench.bench.manifest import RunManifest
from licbench.bench.store import Store
from licbench.codecs import create_codec
from licbench.codecs.learned import complexity as counting
from tests.conftest import synthetic_image

LEARNED = "cca:config=tiny,weights=random"
WIDE, TALL = (64, 96), (96, 64)


class Calls:
    """Calls of patched functions, ``(what, "main" or "worker")`` per line of a file."""

    def __init__(self, path: Path) -> None:
        self.path, self.main = path, os.getpid()

    def add(self, what: str) -> None:
        where = "main" if os.getpid() == self.main else "worker"
        with open(self.path, "a") as f:
            f.write(f"{what} {where}\n")

    def read(self) -> list[tuple[str, str]]:
        if not self.path.exists():
            return []
        return [tuple(line.split()) for line in self.path.read_text().splitlines()]


@pytest.fixture
def calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Counts JobComplexity.figure (a figure measured on a job), the counter itself, a learned
    model asked for in the main process, and the fresh-process memory measure (which only the
    fallback uses)."""
    log = Calls(tmp_path / "calls.txt")

    def counted(name: str, original, main_only: bool = False):
        def wrapper(*args, **kwargs):
            if not main_only or os.getpid() == log.main:
                log.add(name)
            return original(*args, **kwargs)

        return wrapper

    figure = job_memory.JobComplexity.figure
    monkeypatch.setattr(job_memory.JobComplexity, "figure", counted("figure", figure))
    monkeypatch.setattr(counting, "codec_complexity", counted("count", counting.codec_complexity))
    learned = type(create_codec(LEARNED))
    # (a worker asks for models to code: only the main process's requests are counted)
    monkeypatch.setattr(learned, "model", counted("model", learned.model, main_only=True))

    def fresh_processes(spec, height, width, **options):
        log.add("fresh")
        return {"image": [height, width], "fresh": True}

    monkeypatch.setattr(counting, "measure_peak_memory", fresh_processes)
    return log


def images(folder: Path, sizes: list[tuple[int, int]], first_seed: int = 0) -> str:
    folder.mkdir(exist_ok=True)
    for seed, (height, width) in enumerate(sizes, first_seed):
        Image.fromarray(synthetic_image(height, width, seed)).save(folder / f"{seed}.png")
    return f"folder:{folder}"


def run(dataset: str, out: Path, store: Path):
    return api.run(
        dataset,
        [LEARNED],
        anchor=LEARNED,
        out=out,
        store=store,
        workers=1,
        metrics=["psnr-rgb"],
        viewer_images="none",
        progress=False,
    )


def test_measured_on_the_jobs_once_per_size_and_never_again(tmp_path, calls):
    store = tmp_path / "store.sqlite"
    dataset = images(tmp_path / "images", [WIDE, WIDE, TALL])
    first = run(dataset, tmp_path / "first", store)
    assert first.summary.jobs_failed == 0
    made = calls.read()
    # one figure per image size, each in the worker that ran the job; the main process asked
    # for no model, counted nothing and started no measuring process
    assert made.count(("figure", "worker")) == 2, made
    assert [what for what, where in made if where == "main"] == [], made
    assert ("fresh", "main") not in made and ("fresh", "worker") not in made

    key = codec_key(create_codec(LEARNED))
    with Store(store) as opened:
        assert opened.complexity_sizes(key, 1) == (WIDE, TALL)
        stored = opened.get_complexity(key, 1, *WIDE)
    figure = RunManifest.load(tmp_path / "first").complexity[LEARNED]
    assert figure == stored  # the run's most common size (two of three images)
    assert figure["input"] == list(WIDE) and figure["params"]["total"] > 0
    memory = figure["peak_memory"]
    assert memory["image"] == list(WIDE) and memory["quality"] == 1
    assert "worker" in memory["method"]
    for operation in ("encode", "decode"):
        peak = memory[operation]
        assert peak["peak_rss_mb"] >= peak["start_rss_mb"] > 0
        assert peak["above_start_mb"] == pytest.approx(
            peak["peak_rss_mb"] - peak["start_rss_mb"], abs=0.2
        )

    # another run on the same store: a new image of a measured size runs in a worker, which
    # measures nothing (its job says the store has that size); the figure is the stored one
    more = images(tmp_path / "images", [WIDE], first_seed=3)
    second = run(more, tmp_path / "second", store)
    assert second.counts["computed"] == 4 - 3  # only the new image's job
    assert calls.read() == made, calls.read()
    assert RunManifest.load(tmp_path / "second").complexity[LEARNED] == stored

    # a re-run of the finished run: nothing counted, nothing measured, nothing asked of a model
    again = run(more, tmp_path / "second", store)
    assert again.counts["computed"] == 0
    assert calls.read() == made


def test_where_a_worker_cannot_measure_the_main_process_does_once_and_stores_it(
    tmp_path, calls, monkeypatch
):
    # no resettable peak (not Linux, a read-only /proc): the figure's counts come from the
    # worker, its memory from fresh processes, started once for the run's size and stored
    monkeypatch.setattr(job_memory, "peak_resettable", lambda: "no /proc here")
    store = tmp_path / "store.sqlite"
    dataset = images(tmp_path / "images", [WIDE, WIDE])
    run(dataset, tmp_path / "first", store)
    assert calls.read().count(("fresh", "main")) == 1
    figure = RunManifest.load(tmp_path / "first").complexity[LEARNED]
    assert figure["peak_memory"] == {"image": list(WIDE), "fresh": True}
    with Store(store) as opened:
        assert opened.get_complexity(codec_key(create_codec(LEARNED)), 1, *WIDE) == figure

    before = calls.read()
    run(dataset, tmp_path / "second", store)  # every job in the store, a new output folder
    assert calls.read() == before
    assert RunManifest.load(tmp_path / "second").complexity[LEARNED] == figure
