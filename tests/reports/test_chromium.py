"""The report in a real browser: headless Chromium renders it without errors; a screenshot is kept.

Two independent signals of a JavaScript or resource error are checked:

* a recorder script, injected at the top of a copy of the report, catches uncaught errors,
  failed resources (a broken data URI) and ``console.error`` calls, and writes them into the
  DOM, which ``--dump-dom`` prints after the page has loaded;
* Chromium's own log (``--enable-logging=stderr --v=0``) is searched for uncaught errors that
  the page reported to the console.

The recorder also clicks the per-image table's "bpp" header and records whether the rows came out
in ascending order, so the sorter is tested in the browser, not only present. The screenshot is of
the report as written (no injected script). Needs Debian's ``chromium``; skipped without it.
test_browser.py drives the pages (hover, legend, selectors, viewer, compare) through Playwright.
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
XSS_NAME = "<script>alert(1)</script>.png"

RECORDER = """<script>
(function () {
  var seen = [];
  window.__licbenchErrors = seen;
  window.addEventListener("error", function (event) {
    var target = event.target || {};
    if (target !== window && (target.src || target.href)) {
      seen.push("resource failed: " + String(target.src || target.href).slice(0, 60));
    } else {
      seen.push("uncaught: " + event.message);
    }
  }, true);
  window.addEventListener("unhandledrejection", function (event) {
    seen.push("unhandled rejection: " + event.reason);
  });
  var consoleError = console.error;
  console.error = function () {
    seen.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return consoleError.apply(console, arguments);
  };
  window.alert = function (message) { seen.push("alert: " + message); };
  window.addEventListener("load", function () {
    var result = {errors: seen, images: 0, broken: 0, sorted: null, charts: 0};
    try {
      // charts the page drew (uPlot: a canvas per chart), with at least one curve each
      result.charts = document.querySelectorAll(".lb-chart canvas").length;
      var imgs = document.images;
      result.images = imgs.length;
      for (var i = 0; i < imgs.length; i++) {
        if (!imgs[i].complete || imgs[i].naturalWidth === 0) { result.broken++; }
      }
      var table = document.getElementById("per-image-table");
      var headers = table.tHead.rows[0].cells;
      var column = -1;
      for (var j = 0; j < headers.length; j++) {
        if (headers[j].textContent.trim() === "bpp") { column = j; }
      }
      headers[column].click();
      var values = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
        return parseFloat(row.cells[column].getAttribute("data-v"));
      });
      var ascending = values.every(function (v, k) { return k === 0 || values[k - 1] <= v; });
      headers[column].click();
      var again = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
        return parseFloat(row.cells[column].getAttribute("data-v"));
      });
      var descending = again.every(function (v, k) { return k === 0 || again[k - 1] >= v; });
      result.sorted = ascending && descending && values.length > 1;
      result.rows = values.length;
    } catch (error) {
      seen.push("recorder: " + error);
    }
    var out = document.createElement("pre");
    out.id = "licbench-test-result";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  });
})();
</script>"""


def chromium(*args: str, user_data: Path) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={user_data}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_report_renders_in_chromium_without_errors(tiny_run, tmp_path, record_property):
    report = tiny_run / "report.html"
    source = report.read_text()
    instrumented = tmp_path / "instrumented.html"
    instrumented.write_text(source.replace("<head>", "<head>\n" + RECORDER, 1), encoding="utf-8")

    done = chromium(
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        "--dump-dom",
        instrumented.as_uri(),
        user_data=tmp_path / "profile-dom",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    match = re.search(r'<pre id="licbench-test-result">(.*?)</pre>', done.stdout, re.S)
    assert match, f"the page's load handler did not run; stderr: {done.stderr[-2000:]}"
    result = json.loads(html_lib.unescape(match.group(1)))
    assert result["errors"] == []
    assert result["images"] == 2 * 3  # two crops rows of three
    assert result["charts"] == 1 + 2  # the RD chart, a strip plot per metric
    assert result["broken"] == 0
    assert result["sorted"] is True and result["rows"] == 16
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    problems = [line for line in console if re.search(r"Uncaught|Error|Refused", line)]
    assert problems == [], problems
    # the image named like a script tag is text in the rendered page, and ran nothing
    assert html_lib.escape(XSS_NAME, quote=False) in done.stdout

    screenshot = tmp_path / "report.png"
    shot = chromium(
        "--hide-scrollbars",
        "--window-size=1280,4000",
        f"--screenshot={screenshot}",
        report.as_uri(),
        user_data=tmp_path / "profile-shot",
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.is_file() and screenshot.stat().st_size > 20_000
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record_property("screenshot", str(screenshot))  # in --junitxml output too
    print(f"report screenshot: {screenshot}")


def test_roi_page_renders_in_chromium(tiny_run, tmp_path):
    from licbench.cli import main

    out = tmp_path / "roi"
    assert (
        main(
            [
                "roi",
                "--run",
                str(tiny_run),
                "--images-per-month",
                "1000000",
                "--mean-image-mb",
                "0.4",
                "--storage-cost-per-gb-month",
                "0.02",
                "--egress-cost-per-gb",
                "0.08",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    page = out / "roi.html"
    instrumented = tmp_path / "roi-instrumented.html"
    recorder = RECORDER.replace('document.getElementById("per-image-table")', "null")
    instrumented.write_text(page.read_text().replace("<head>", "<head>\n" + recorder, 1))
    done = chromium(
        "--virtual-time-budget=5000",
        "--dump-dom",
        instrumented.as_uri(),
        user_data=tmp_path / "profile-roi",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(
        html_lib.unescape(
            re.search(r'<pre id="licbench-test-result">(.*?)</pre>', done.stdout, re.S).group(1)
        )
    )
    # the recorder's sort check has no table here: its one expected complaint is about that
    assert [e for e in result["errors"] if not e.startswith("recorder:")] == []
    assert "What switching from jpeg would save" in done.stdout


def test_a_summarised_report_renders_in_chromium(large_run, tmp_path):
    """The report of a run above the full-table threshold (no per-image table to sort) loads
    without errors, its plots decoded, the worst and best images on the page."""
    instrumented = tmp_path / "large-instrumented.html"
    recorder = RECORDER.replace('document.getElementById("per-image-table")', "null")
    page = (large_run / "report.html").read_text(encoding="utf-8")
    instrumented.write_text(page.replace("<head>", "<head>\n" + recorder, 1), encoding="utf-8")
    done = chromium(
        "--virtual-time-budget=5000",
        "--dump-dom",
        instrumented.as_uri(),
        user_data=tmp_path / "profile-large",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="licbench-test-result">(.*?)</pre>', done.stdout, re.S)
    result = json.loads(html_lib.unescape(found.group(1)))
    # the recorder's sort check has no table here: its one expected complaint is about that
    assert [e for e in result["errors"] if not e.startswith("recorder:")] == []
    assert result["images"] == 0 and result["broken"] == 0  # (no crops stored)
    assert result["charts"] == 1 + 2  # the RD chart, a strip plot per metric
    assert 'id="per-image-extremes"' in done.stdout and "too many to list here" in done.stdout
