"""The report's crops come from the jobs' own decodes; complexity is counted on a bounded size
(issue 20, item 6).

A 6000×4000 image with a learned codec used to be encoded and decoded once more in the main
process for a 192-px crop, and coded twice more at full size for its complexity figure. Here
the codecs' ``encode`` raises in the main process (workers, forked from it, run normally): a run
must still show every crop, each cut from the decode its job measured.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench import api
from licbench.bench.manifest import RunManifest
from licbench.bench.store import Store
from licbench.bench.visual import CANDIDATES, box_text, original_key
from licbench.codecs import create_codec
from licbench.codecs.learned import complexity
from licbench.codecs.learned.complexity import COUNT_PIXELS, codec_complexity, counting_size

LEARNED = "cca:config=tiny,weights=random"


def smooth(height: int, width: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [128 + 90 * np.sin(xx / (30 + 9 * c + seed)) * np.cos(yy / 41) for c in range(3)]
    noisy = np.stack(planes, -1) + rng.normal(0, 3, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


class Forbidden:
    """Codecs whose ``encode`` raises in this process; their own encode is kept for tests."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.here = os.getpid()
        self.calls: list[str] = []
        self.encode: dict[str, object] = {}

    def forbid(self, *specs: str) -> None:
        for spec in specs:
            cls = type(create_codec(spec))
            original = self.encode[spec] = cls.encode

            def encode(codec, image, quality, _original=original, _spec=spec):
                if os.getpid() == self.here:  # a forked worker has another pid
                    self.calls.append(_spec)
                    raise AssertionError(f"{_spec} encoded in the main process")
                return _original(codec, image, quality)

            self.monkeypatch.setattr(cls, "encode", encode)


@pytest.fixture
def main_process(monkeypatch: pytest.MonkeyPatch) -> Forbidden:
    return Forbidden(monkeypatch)


def run(images: Path, out: Path, codecs: list[str], **options):
    return api.run(
        f"folder:{images}",
        codecs,
        anchor="jpeg",
        out=out,
        store=out.parent / "store.sqlite",
        workers=1,
        metrics=["psnr-rgb"],
        progress=False,
        **options,
    )


def crops_of(manifest: RunManifest) -> dict[str, dict[str, tuple[bytes | None, str]]]:
    """``{image name: {codec or "original": (png, note)}}`` as the store holds them."""
    shown: dict[str, dict[str, tuple[bytes | None, str]]] = {}
    with Store(manifest.store) as store:
        for entry in manifest.visual["images"]:
            where = box_text(entry["box"])
            keys = {"original": original_key(entry["sha256"])}
            keys |= {c: t["job_key"] for c, t in entry["tiles"].items() if t.get("job_key")}
            found = store.get_crops(keys.values(), where)
            shown[entry["name"]] = {
                label: found.get(key, (None, "")) for label, key in keys.items()
            }
    return shown


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_a_megapixel_learned_run_crops_its_own_decodes(tmp_path, main_process, monkeypatch):
    images = tmp_path / "images"
    images.mkdir()
    original = smooth(768, 1024, 0)  # 0.8 MP: larger than the complexity count, CI-sized
    Image.fromarray(original).save(images / "large.png")
    main_process.forbid("jpeg", LEARNED)
    measured: list[tuple[int, int]] = []

    def peak_memory(spec, height, width, **options):  # (the fallback: two fresh processes)
        measured.append((height, width))
        return {"image": [height, width]}

    monkeypatch.setattr(complexity, "measure_peak_memory", peak_memory)

    result = run(images, tmp_path / "out", ["jpeg", LEARNED])
    assert result.summary.jobs_failed == 0 and main_process.calls == []
    manifest = RunManifest.load(tmp_path / "out")
    (entry,) = manifest.visual["images"]
    assert entry["box"] == [416, 288, 192, 192]
    crops = crops_of(manifest)["large.png"]
    assert set(crops) == {"original", "jpeg", LEARNED}
    assert all(png is not None for png, _ in crops.values()), crops
    centre = (slice(288, 480), slice(416, 608))
    np.testing.assert_array_equal(pixels(crops["original"][0]), original[centre])

    # each crop is the centre of its job's decode: jpeg's exactly, the learned codec's to
    # float rounding (its worker ran one thread, this process may run more)
    for label in ("jpeg", LEARNED):
        codec = create_codec(label)
        data = main_process.encode[label](codec, original, entry["tiles"][label]["quality"])
        assert len(data) == entry["tiles"][label]["bytes"]
        difference = np.abs(pixels(crops[label][0]).astype(int) - codec.decode(data)[centre])
        assert difference.max() <= (0 if label == "jpeg" else 1)

    # complexity: counted on a bounded size and scaled; peak memory measured on the job itself
    # in its worker (issue 21, item 5): no fresh process codes the image again for it
    figure = manifest.complexity[LEARNED]
    assert figure["input"] == [768, 1024] and figure["counted_input"] == [512, 640]
    assert counting_size(768, 1024) == (512, 640) and 768 * 1024 > COUNT_PIXELS
    assert measured == [] and figure["peak_memory"]["image"] == [768, 1024]
    full = codec_complexity(create_codec(LEARNED), 768, 1024).kmac_per_pixel()
    for part in ("encoder", "decoder"):
        # CCA's only size-independent work (channel attention on pooled maps) is scaled too
        assert figure["kmac_per_pixel"][part] == pytest.approx(full[part], rel=1e-4, abs=0.01)


def test_only_the_images_that_may_be_shown_keep_crops_and_a_rerun_encodes_nothing(
    tmp_path, main_process
):
    images = tmp_path / "images"
    images.mkdir()
    for index in range(CANDIDATES + 1):
        Image.fromarray(smooth(40, 56, index)).save(images / f"img{index}.png")
    main_process.forbid("jpeg", "webp")
    out = tmp_path / "out"
    run(images, out, ["jpeg"], qualities=[30, 70])
    manifest = RunManifest.load(out)
    with Store(manifest.store) as store:
        kept = store.cropped(manifest.jobs)
        records = store.get(manifest.jobs)
    names = {sha: name for name, sha in manifest.images}
    with_crops = {names[records[key].image_sha256] for key in kept}
    assert with_crops == {f"img{i}.png" for i in range(CANDIDATES)}  # the first four
    assert all(boxes == {"8,0,40,40"} for boxes in kept.values())
    assert len(manifest.visual["images"]) == 2

    # another codec added: the old jobs come from the store with the crops they kept
    run(images, out, ["jpeg", "webp"], qualities=[30, 70])
    manifest = RunManifest.load(out)
    for shown in crops_of(manifest).values():
        assert set(shown) == {"original", "jpeg", "webp"}
        assert all(png is not None for png, _ in shown.values())
    assert main_process.calls == []


def test_jobs_that_kept_no_crop_are_said_not_re_encoded(tmp_path, main_process):
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(smooth(40, 56, 0)).save(images / "a.png")
    run(images, tmp_path / "first", ["jpeg"], qualities=[30, 70])
    with Store(tmp_path / "store.sqlite") as store:  # as a store from an older licbench
        store._connection.execute("DELETE FROM crops")
    main_process.forbid("jpeg", "webp")
    run(images, tmp_path / "second", ["jpeg", "webp"], qualities=[30, 70])
    manifest = RunManifest.load(tmp_path / "second")
    (entry,) = manifest.visual["images"]
    assert entry["tiles"]["jpeg"] == {
        "note": "its jobs on this image kept no crop (computed by an older licbench)"
    }
    assert entry["tiles"]["webp"]["job_key"]  # computed now: kept its crop
    assert crops_of(manifest)["a.png"]["webp"][0] is not None
    assert main_process.calls == []
