"""The interactive pages in a real browser: Debian's chromium driven by Playwright.

Playwright's Python package brings its driver, not a browser: ``executable_path`` points it at
``/usr/bin/chromium``, so nothing is downloaded. Each test loads a page from a real run and acts
as a reader does (moves the mouse over a point, clicks a legend entry, moves the viewer's
slider, pans), then checks what the page shows: the tooltip's text, the pixels of a curve on
the canvas, the pictures loaded. Every request a page makes is recorded: only the page's own
files (``file://``) may be asked for. A screenshot of each page is kept in the test's folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)

#: Okabe-Ito, as static/charts.js gives them to the first two codecs (jpeg, webp)
JPEG_RGB, WEBP_RGB = (0, 114, 178), (213, 94, 0)
RD = "LB.charts.find(c => c.el.id === 'rd-chart')"


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


class Page:
    """A page opened from a file, with what it asked for and what went wrong in it."""

    def __init__(self, browser, path: Path, width: int = 1280, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.goto(path.as_uri())
        self.page.wait_for_load_state("load")

    def outside(self) -> list[str]:
        """Requests for anything but the page's own files."""
        return [url for url in self.requests if not url.startswith(("file://", "data:"))]

    def js(self, script: str, arg=None):
        return self.page.evaluate(script, arg)

    def point(self, chart: str, series: int, index: int) -> tuple[float, float]:
        """Where on the screen a chart draws one point of one series."""
        return tuple(
            self.js(
                """([id, k, i]) => {
                  const c = LB.charts.find(c => c.el.id === id), u = c.plot, s = c.spec.series[k];
                  c.el.scrollIntoView({block: 'center'});  // (the mouse reaches the viewport)
                  const r = u.over.getBoundingClientRect();
                  return [r.left + u.valToPos(s.x[i], 'x'), r.top + u.valToPos(s.y[i], 'y')];
                }""",
                [chart, series, index],
            )
        )

    def pixels(self, chart: str, rgb: tuple[int, int, int], tolerance: int = 40) -> int:
        """How many canvas pixels of a chart have (about) this colour."""
        return self.js(
            """([id, rgb, tol]) => {
              const c = LB.charts.find(c => c.el.id === id), cv = c.plot.ctx.canvas;
              const d = c.plot.ctx.getImageData(0, 0, cv.width, cv.height).data;
              let n = 0;
              for (let i = 0; i < d.length; i += 4) {
                if (Math.abs(d[i] - rgb[0]) + Math.abs(d[i + 1] - rgb[1])
                    + Math.abs(d[i + 2] - rgb[2]) < tol && d[i + 3] > 200) n++;
              }
              return n;
            }""",
            [chart, list(rgb), tolerance],
        )

    def tip(self, chart: str) -> str:
        return self.js(
            """id => { const t = LB.charts.find(c => c.el.id === id).plot.lbTip;
                       return t.style.display === 'none' ? '' : t.textContent; }""",
            chart,
        )

    def shot(self, path: Path) -> Path:
        self.page.screenshot(path=str(path), full_page=True)
        return path


def test_report_hover_legend_selectors(browser, tiny_run, tmp_path):
    summary = json.loads((tiny_run / "summary.json").read_text())
    page = Page(browser, tiny_run / "report.html")
    assert page.errors == []
    assert page.js("LB.charts.map(c => c.el.id)") == ["rd-chart", "strip-0", "strip-1"]
    # drawn: both codecs' colours are on the RD chart's canvas
    assert page.pixels("rd-chart", JPEG_RGB) > 200 and page.pixels("rd-chart", WEBP_RGB) > 200

    # hover webp's second point (by rate): its codec, quality, bpp, PSNR and image count
    webp = summary["codecs"]["webp"]["results"]
    order = sorted(range(len(webp["bpp"])), key=lambda i: webp["bpp"][i])
    i = order[1]
    page.page.mouse.move(*page.point("rd-chart", 1, 1))
    text = page.tip("rd-chart")
    assert text.splitlines() == [
        "webp",
        f"quality {webp['quality'][i]:g}",
        f"{webp['bpp'][i]:.4f} bpp",
        f"PSNR RGB (dB): {webp['psnr-rgb'][i]:.2f}",
        f"mean over {webp['images'][i]} image(s)",
    ]

    # a legend click hides webp: its pixels go, its points no longer answer the mouse
    page.page.click(".u-legend .u-series:has-text('webp')")
    assert page.js(f"{RD}.plot.series[2].show") is False
    assert page.pixels("rd-chart", WEBP_RGB) < 20
    page.page.mouse.move(5, 5)
    page.page.mouse.move(*page.point("rd-chart", 1, 1))
    assert not page.tip("rd-chart").startswith("webp")
    page.page.click(".u-legend .u-series:has-text('webp')")  # and shows it again
    assert page.pixels("rd-chart", WEBP_RGB) > 200

    # log rate axis, another metric, one image's own curves
    page.page.check("#rd-log")
    assert page.js(f"{RD}.plot.scales.x.distr") == 3
    page.page.select_option("#rd-metric", "ms-ssim-rgb-db")
    assert "MS-SSIM" in page.js(f"{RD}.plot.axes[1].label")
    image = sorted(summary["per_image_curves"]["jpeg"])[0]
    page.page.select_option("#rd-image", label=image)
    jpeg = summary["per_image_curves"]["jpeg"][image]
    assert page.js(f"{RD}.spec.series[0].x") == pytest.approx(sorted(jpeg["bpp"]), abs=1e-5)
    page.page.mouse.move(*page.point("rd-chart", 0, 0))
    assert page.tip("rd-chart").endswith(f"image {image}")
    assert "one image" in page.js("document.getElementById('rd-view-note').textContent")

    # a strip plot's dot names its image and BD-rate
    page.page.mouse.move(*page.point("strip-0", 0, 0))
    values = summary["bd_rate"]["per_image"]["psnr-rgb"]["webp"]["per_image"]
    first = page.tip("strip-0").splitlines()
    assert first[0] in values and first[1] == f"webp: BD-rate {values[first[0]]:.2f}% against jpeg"
    assert page.outside() == [] and page.errors == []
    print("report screenshot:", page.shot(tmp_path / "report.png"))


def test_summarised_report_draws_dense_strips(browser, large_run, tmp_path):
    """300 images: the strip plots carry every image's dot; the page makes no request."""
    page = Page(browser, large_run / "report.html")
    assert page.errors == [] and page.outside() == []
    dots = page.js("LB.charts.find(c => c.el.id === 'strip-0').spec.series[0].x.length")
    per_image = json.loads((large_run / "summary.json").read_text())["bd_rate"]["per_image"]
    assert dots == len(per_image["psnr-rgb"]["webp"]["per_image"])
    assert page.pixels("strip-0", WEBP_RGB, tolerance=120) > 100


def test_viewer_slider_flip_zoom_pan(browser, tiny_run, tmp_path):
    page = Page(browser, tiny_run / "viewer.html")
    assert page.errors == []
    loaded = "() => LBViewer.images.map(i => i.complete && i.naturalWidth > 0)"
    page.page.wait_for_function(f"({loaded})().every(Boolean)")
    state = "LBViewer.state"
    assert page.js(f"[{state}.a, {state}.b, {state}.rate]") == ["jpeg", "webp", "t:0.5"]
    # each side at its target point: the caption says the stored numbers of that job
    data = page.js("LB.data('viewer-data')")
    entry = data["images"][0]
    a = entry["targets"]["jpeg"]["0.5"]
    assert page.js("document.getElementById('caption-a').textContent").startswith(
        f"A: jpeg  q={a[0]:g}  {a[1]:.4f} bpp"
    )
    src = page.js("document.getElementById('img-a').getAttribute('src')")
    assert src == a[2] and (tiny_run / src).is_file()

    # the split slider moves the split, in the page and on B's layer
    slider = page.page.locator("#split")
    box = slider.bounding_box()
    page.page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
    split = page.js(f"{state}.split")
    assert 70 < split < 90
    clip = page.js("document.getElementById('layer-b').style.clipPath")
    assert clip == f"inset(0px 0px 0px {split:g}%)"

    # flip: B alone, then A alone
    page.page.click("#flip")
    assert page.js(f"[{state}.mode, {state}.show]") == ["flip", "b"]
    assert page.js("getComputedStyle(document.getElementById('layer-b')).visibility") == "visible"
    page.page.keyboard.press("f")
    assert page.js("getComputedStyle(document.getElementById('layer-b')).visibility") == "hidden"

    # 2:1, then a drag pans both pictures by the same amount
    page.page.check("input[name=zoom][value='2']")
    assert "scale(2)" in page.js("document.getElementById('img-a').style.transform")
    before = page.js(f"[{state}.x, {state}.y]")
    stage = page.page.locator("#stage").bounding_box()
    cx, cy = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
    page.page.mouse.move(cx, cy)
    page.page.mouse.down()
    page.page.mouse.move(cx + 40, cy + 30, steps=4)
    page.page.mouse.up()
    after = page.js(f"[{state}.x, {state}.y]")
    assert after != before
    transforms = page.js("LBViewer.images.map(i => i.style.transform)")
    assert transforms[0] == transforms[1]

    # a bpp of one's own: each side's point nearest it
    page.page.select_option("#rate", "near")
    page.page.fill("#bpp", "2")
    nearest = min(entry["points"]["webp"], key=lambda p: abs(p[1] - 2))
    assert page.js("document.getElementById('img-b').getAttribute('src')") == nearest[2]
    page.page.wait_for_function(f"({loaded})().every(Boolean)")
    assert page.outside() == [] and page.errors == []
    assert all(url.startswith("file://") for url in page.requests)
    print("viewer screenshot:", page.shot(tmp_path / "viewer.png"))


def test_compare_page_renders(browser, compared, tmp_path):
    out, result = compared
    page = Page(browser, out / "compare.html")
    assert page.errors == [] and page.outside() == []
    assert page.js("LB.charts.map(c => c.el.id)") == ["cmp-curves", "cmp-timeline"]
    curves = page.js("LB.charts[0].spec.series.map(s => s.label)")
    assert curves == [f"{c['run']}: {c['codec']}" for c in result["rows"]]
    page.page.mouse.move(*page.point("cmp-curves", 0, 0))
    assert page.tip("cmp-curves").startswith(curves[0])
    # the timeline: a point per run for each codec, its value the table's
    labels = page.js("LB.charts[1].spec.series.map(s => s.label)")
    assert labels == ["jpeg", "webp"]
    webp = [r for r in result["rows"] if r["codec"] == "webp"]
    ys = page.js("LB.charts[1].spec.series[1].y")
    assert ys == pytest.approx([r["against_anchor"]["value"] for r in webp])
    page.page.mouse.move(*page.point("cmp-timeline", 1, 1))
    assert page.tip("cmp-timeline").startswith(f"webp in {webp[1]['run']}")
    print("compare screenshot:", page.shot(tmp_path / "compare.png"))
