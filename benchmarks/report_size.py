"""How big report.html gets, and how long it takes to write and to open, at thousands of images.

Issue 19, item 8: the report must read at 10,000 images (≤ 3 MB at 2,000 images, open in
headless Chromium in ≤ 3 s). Computing 100,000 real jobs to find that out would take minutes;
the report only reads the store, so this script writes a synthetic run straight into one:
``Record`` rows through ``Store.put`` and a ``RunManifest`` (``run.json``), shaped as a real
``licbench run --codecs jpeg,webp --qualities 20,40,60,75,90 --target-bpp 0.5,1.0`` makes them:

* N images of 192×176 pixels (MS-SSIM is defined) in four subfolders (photos, graphics,
  screenshots, thumbnails), each with its own complexity, so bpp and PSNR spread as on real data;
  webp needs about 25% fewer bits than jpeg, with a per-image spread, so per-image BD-rates vary;
* failures as a run meets them: 1% of the images fail for webp at every quality (one cause), and
  0.1% cannot be read at all (both codecs);
* a rate-target search per codec, image and target (pointing at sweep jobs) and a visual plan
  without stored crops (the report says so), so the per-image target lists are exercised.

Then it calls the real writer (:func:`licbench.reports.outputs.write_outputs`) and prints, per N:
report.html's size, the time to write every output (results built from the store, CSVs,
summary.json, report) and, of that, the time rendering the HTML, and the time headless Chromium
takes to open the page.

Open time: the page is copied with a small script added at the top of ``<head>``; on the ``load``
event it forces a layout (``document.body.offsetHeight``) and records ``performance.now()`` (ms
since navigation start: parsing, images decoded, load event, first layout), which
``chromium --headless --dump-dom`` prints once the page has loaded. That in-page figure is the
"open" column; the wall time of the whole Chromium process (start-up included) is printed beside
it, with the wall time of an empty page for comparison.

Beside it, for the same run: viewer.html (``--viewer-images``, default 4: the pictures listed
are 1-pixel stand-ins, the page's size and open time depend on how many, not on their bytes)
and ``licbench compare`` of the run with a copy of itself (time to compare, compare.html's
size and open time).

    python benchmarks/report_size.py                 # 2,000 and 10,000 images
    python benchmarks/report_size.py --images 300 --keep /tmp/rs
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from licbench.bench.manifest import RunManifest
from licbench.bench.store import Record, Store
from licbench.reports import outputs

CODECS = ("jpeg", "webp")
QUALITIES = (20.0, 40.0, 60.0, 75.0, 90.0)
#: jpeg's bpp at each quality on an image of complexity 1
BASE_BPP = (0.35, 0.6, 0.85, 1.2, 2.0)
TARGETS = ("0.5", "1")
GROUPS = ("photos", "graphics", "screenshots", "thumbnails")
WIDTH, HEIGHT = 192, 176
ROOT = "/data/in-house"

LOAD_PROBE = """<script>
window.addEventListener("load", function () {
  var height = document.body.offsetHeight;
  var out = document.createElement("pre");
  out.id = "report-size-probe";
  out.textContent = JSON.stringify({ms: performance.now(), height: height,
    nodes: document.getElementsByTagName("*").length});
  document.body.appendChild(out);
});
</script>"""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def image_names(count: int) -> list[str]:
    return [f"{GROUPS[i % len(GROUPS)]}/img_{i:05d}.png" for i in range(count)]


def synthetic_records(
    names: list[str], seed: int = 0, webp_fails_every: int = 100, unreadable_every: int = 1000
) -> list[Record]:
    """Every job of the run: ``len(names)`` × jpeg, webp × 5 qualities, failures included: every
    ``webp_fails_every``-th image fails for webp (from the 4th), every ``unreadable_every``-th
    cannot be read (from the 8th)."""
    rng = random.Random(seed)
    records = []
    for index, name in enumerate(names):
        sha = _sha(name)
        complexity = math.exp(rng.gauss(0.0, 0.45))
        offset = rng.gauss(0.0, 1.5)
        ratio = 0.75 * math.exp(rng.gauss(0.0, 0.15))  # webp's bits per jpeg bit on this image
        unreadable = index % unreadable_every == 7
        webp_fails = index % webp_fails_every == 3
        for codec in CODECS:
            for quality, base in zip(QUALITIES, BASE_BPP, strict=True):
                key = _sha(f"{codec}:{quality}:{sha}")
                record = Record(key, codec, _sha(codec)[:16], f"{codec} 1.0", quality, name, sha)
                path = f"{ROOT}/{name}"
                if unreadable:
                    record.error = f"{path}: cannot read: cannot identify image file {path!r}"
                elif codec == "webp" and webp_fails:
                    record.error = (
                        f"{path}: webp at quality {quality:g} failed while encoding: "
                        "OSError: encoder error 3 (WebPImagePlugin.py:289)"
                    )
                else:
                    jpeg_bpp = base * complexity
                    bpp = jpeg_bpp * (ratio if codec == "webp" else 1.0)
                    psnr = 32.0 + offset + 6.0 * math.log2(base / 0.85) + rng.gauss(0.0, 0.05)
                    db = 0.55 * psnr - 4.0
                    record.width, record.height = WIDTH, HEIGHT
                    record.bytes = max(1, round(bpp * WIDTH * HEIGHT / 8))
                    record.bpp = 8.0 * record.bytes / (WIDTH * HEIGHT)
                    record.metrics = {"psnr-rgb": psnr, "ms-ssim-rgb": 1.0 - 10 ** (-db / 10)}
                    record.encode_s = 0.0004 * (1 + rng.random())
                    record.decode_s = 0.0003 * (1 + rng.random())
                    record.decode_stages = {"decode": record.decode_s}
                records.append(record)
    return records


def _target_choices(records: list[Record]) -> dict:
    """Per codec, target and image: the sweep job with the largest bpp ≤ target (the rule)."""
    choices: dict = {}
    by_image: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        by_image.setdefault((record.codec, record.image_sha256), []).append(record)
    for (codec, sha), jobs in by_image.items():
        for target in TARGETS:
            ok = sorted((r for r in jobs if r.ok), key=lambda r: r.quality)
            if not ok:
                entry = {"quality": None, "status": "error", "error": jobs[0].error, "probes": []}
            else:
                under = [r for r in ok if r.bpp <= float(target)]
                pick = under[-1] if under else ok[0]
                status = "ok" if under and pick is not ok[-1] else "below" if under else "above"
                entry = {"quality": pick.quality, "job_key": pick.job_key, "status": status}
                entry["probes"] = [pick.quality]
            choices.setdefault(codec, {}).setdefault(target, {})[sha] = entry
    return choices


def build_run(folder: Path, count: int, **failures: int) -> Path:
    """A run folder (run.json) over ``count`` synthetic images, its store beside it;
    ``failures`` as :func:`synthetic_records` takes them."""
    folder.mkdir(parents=True, exist_ok=True)
    names = image_names(count)
    records = synthetic_records(names, **failures)
    store_path = folder / "store.sqlite"
    with Store(store_path) as store:  # one transaction per row, as a run commits them
        for record in records:
            store.put(record)
    first = names[0]
    plan = {
        "target_bpp": 0.85,
        "crop": 176,
        "notes": [],
        "images": [
            {
                "sha256": _sha(name),
                "name": name,
                "box": [8, 0, 176, 176],
                "tiles": {c: {"note": "no crop stored (synthetic run)"} for c in CODECS},
            }
            for name in (first, names[1])
        ],
    }
    manifest = RunManifest(
        dataset=f"folder:{ROOT}",
        store=str(store_path.resolve()),
        anchor="jpeg",
        method="pchip",
        metrics=["psnr-rgb", "ms-ssim-rgb"],
        codecs={c: {"description": f"synthetic {c}", "version": f"{c} 1.0"} for c in CODECS},
        images=[[name, _sha(name)] for name in names],
        image_paths={_sha(name): f"{ROOT}/{name}" for name in names},
        jobs=[r.job_key for r in records],
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        environment={"licbench": "synthetic", "python": "3.11"},
        target_bpp=[float(t) for t in TARGETS],
        target_choices=_target_choices(records),
        visual=plan,
    )
    manifest.save(folder)
    return folder


def chromium_open(page: Path, chromium: str) -> tuple[float, float]:
    """(in-page ms to the load event and first layout, wall s of the Chromium process)."""
    probed = page.with_name("probed.html")
    text = page.read_text(encoding="utf-8")
    probed.write_text(text.replace("<head>", "<head>\n" + LOAD_PROBE, 1), encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--dump-dom",
            probed.as_uri(),
        ]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        wall = time.perf_counter() - start
    match = re.search(r'<pre id="report-size-probe">(.*?)</pre>', done.stdout, re.S)
    if not match:
        raise RuntimeError(f"chromium did not report a load: {done.stderr[-1500:]}")
    return json.loads(match.group(1).replace("&quot;", '"'))["ms"], wall


def fake_viewer(folder: Path, records: int) -> None:
    """viewer/ as a run with ``--viewer-images`` writes it, for the first ``records`` images'
    jobs, with 1-pixel PNGs: viewer.html's size and open time depend on the pictures listed,
    not on their bytes."""
    from licbench.bench.viewer import decoded_name, original_name

    manifest = RunManifest.load(folder)
    shown = {sha for _, sha in manifest.images[:records]}
    pictures = folder / "viewer"
    pictures.mkdir(exist_ok=True)
    pixel = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408"
        "d763f8cfc000000301010018dd8db00000000049454e44ae426082"
    )
    with Store(Path(manifest.store), create=False, read_only=True) as store:
        for record in store.get(manifest.jobs).values():
            if record.image_sha256 in shown and record.ok:
                (pictures / decoded_name(record.job_key)).write_bytes(pixel)
    for sha in shown:
        (pictures / original_name(sha)).write_bytes(pixel)


def measure_compare(folder: Path, chromium: str | None) -> dict:
    """``licbench compare`` of the run with a copy of itself (two runs on the same images):
    the time to compare (per-image BD-rates and their bootstrap, per run and codec) and
    compare.html's size and open time."""
    from licbench.reports.compare_runs import compare_runs, write_compare

    copy = folder.with_name(folder.name + "-again")
    copy.mkdir(exist_ok=True)
    for name in ("summary.json", "run.json"):
        shutil.copy2(folder / name, copy / name)
    start = time.perf_counter()
    page = write_compare(compare_runs([folder, copy]), folder.with_name(folder.name + "-cmp"))
    row = {"compare_s": time.perf_counter() - start, "compare_mb": page.stat().st_size / 1e6}
    if chromium:
        row["compare_open_ms"], _ = chromium_open(page, chromium)
    return row


def measure(count: int, work: Path, chromium: str | None, viewer: int = 0) -> dict:
    folder = build_run(work / f"run-{count}", count)
    if viewer:
        fake_viewer(folder, viewer)
    render = outputs.render_report
    spent = [0.0]

    def timed(context: dict) -> str:  # the HTML's share of the write (the rest: results, CSVs)
        start = time.perf_counter()
        try:
            return render(context)
        finally:
            spent[0] += time.perf_counter() - start

    outputs.render_report = timed
    try:
        start = time.perf_counter()
        outputs.write_outputs(folder)
        write_s = time.perf_counter() - start
    finally:
        outputs.render_report = render
    page = folder / "report.html"
    row = {"images": count, "mb": page.stat().st_size / 1e6, "write_s": write_s}
    row["render_s"] = spent[0]
    if chromium:
        row["open_ms"], row["chromium_wall_s"] = chromium_open(page, chromium)
    shown = folder / "viewer.html"
    if shown.is_file():
        row["viewer_mb"] = shown.stat().st_size / 1e6
        if chromium:
            row["viewer_open_ms"], _ = chromium_open(shown, chromium)
    row.update(measure_compare(folder, chromium))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--keep", type=Path, help="build the runs here and keep them")
    parser.add_argument("--no-chromium", action="store_true")
    parser.add_argument(
        "--viewer-images",
        type=int,
        default=4,
        help="images the run has viewer pictures for (as --viewer-images; 0: no viewer)",
    )
    args = parser.parse_args()
    chromium = None if args.no_chromium else shutil.which("chromium")
    work = args.keep or Path(tempfile.mkdtemp(prefix="report-size-"))
    try:
        if chromium:
            empty = work / "empty.html"
            empty.parent.mkdir(parents=True, exist_ok=True)
            empty.write_text("<!DOCTYPE html><html><head></head><body></body></html>")
            _, wall = chromium_open(empty, chromium)
            print(f"chromium on an empty page: {wall:.2f} s wall (start-up)")
        print(
            "images  report MB  write s  (html s)  open s (load+layout)  chromium wall s"
            "  viewer MB  open s  compare MB  compare s  open s"
        )
        for count in args.images:
            row = measure(count, work, chromium, args.viewer_images)
            opened = viewer = ""
            if chromium:
                opened = f"{row['open_ms'] / 1000:20.2f}  {row['chromium_wall_s']:15.2f}"
            if "viewer_mb" in row:
                viewer = (
                    f"{row['viewer_mb']:9.2f}  {row.get('viewer_open_ms', math.nan) / 1000:6.2f}"
                )
            else:
                viewer = f"{'-':>9}  {'-':>6}"
            compared = f"{row['compare_mb']:10.2f}  {row['compare_s']:9.1f}  "
            compared += f"{row.get('compare_open_ms', math.nan) / 1000:6.2f}"
            written = f"{row['write_s']:7.1f}  {row['render_s']:8.1f}"
            print(
                f"{count:6d}  {row['mb']:9.2f}  {written}  {opened}  {viewer}  {compared}",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
