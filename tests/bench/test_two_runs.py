"""Two runs, one ``--out`` (issue 20, item 1): a run owns its output folder while it writes.

Two real ``licbench run`` processes with different codec lists. The first holds its folder
while a codec of its own ("gate", a user definition whose encoder waits for a file the test
makes) keeps it computing; the second is refused at once, one line naming the first, and
writes nothing there; ``licbench report`` meanwhile says how many jobs are missing, in the
terminal and in the report. Each run's terminal and outputs then name only its own codecs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from licbench.api import RunRequest, execute, plan, write
from licbench.bench.manifest import MANIFEST_NAME
from licbench.cli import main
from licbench.core.lock import holder

REPO = Path(__file__).resolve().parents[2]


def _gate_codec(folder: Path, go: Path) -> Path:
    """A user codec whose encoder copies the picture once ``go`` exists (at most 2 minutes)."""
    folder.mkdir()
    wait = (
        "import os, shutil, sys, time; d = time.time() + 120\n"
        "while not os.path.exists(sys.argv[3]) and time.time() < d: time.sleep(0.05)\n"
        "shutil.copy(sys.argv[1], sys.argv[2])"
    )
    encode = ["{t}", "-c", wait, "{input}", "{output}", str(go)]
    decode = ["{t}", "-c", "import shutil, sys; shutil.copy(*sys.argv[1:3])", "{input}", "{output}"]
    (folder / "gate.toml").write_text(
        textwrap.dedent(
            f"""\
            description = "a lossless copy that waits for the test"
            [tools.t]
            command = {json.dumps(sys.executable)}
            version = ["{{t}}", "--version"]
            [quality]
            range = [0, 100]
            sweep = [50]
            [encode]
            input = "png"
            output = "bin"
            command = {json.dumps(encode)}
            [decode]
            output = "png"
            command = {json.dumps(decode)}
            """
        )
    )
    return folder


def _run(images: Path, out: Path, store: Path, codecs: str, env: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "licbench.cli", "run", "--dataset", f"folder:{images}"]
    command += ["--codecs", codecs, "--qualities", "30,70", "--metrics", "psnr-rgb"]
    command += ["--out", str(out), "--store", str(store), "--workers", "1", "--no-progress"]
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _codecs(out: Path) -> set[str]:
    return set(json.loads((out / "summary.json").read_text())["codecs"])


def test_two_runs_on_one_folder(image_folder, tmp_path, capsys):
    go = tmp_path / "go"
    env = {**os.environ, "LICBENCH_CODECS_PATH": str(_gate_codec(tmp_path / "defs", go))}
    out = tmp_path / "out"
    first = _run(image_folder, out, tmp_path / "a.sqlite", "jpeg,gate", env)
    try:
        deadline = time.monotonic() + 120
        while (owner := holder(out)) is None or not (out / MANIFEST_NAME).is_file():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took its folder"
            time.sleep(0.05)
        assert owner.pid == first.pid and "--codecs jpeg,gate" in owner.command
        planned = json.loads((out / MANIFEST_NAME).read_text())
        assert set(planned["codecs"]) == {"jpeg", "gate"}

        second = _run(image_folder, out, tmp_path / "b.sqlite", "jpeg,webp", env)
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 2, (stdout, stderr)
        assert stdout == "" and stderr.count("\n") == 1
        assert stderr.startswith(
            f"licbench run: --out {out} is being written by another licbench process (pid "
            f"{first.pid} on "
        )
        assert "--codecs jpeg,gate" in stderr and stderr.rstrip().endswith(
            "one run writes a folder at a time: wait for it to finish, or give another --out"
        )
        assert json.loads((out / MANIFEST_NAME).read_text()) == planned  # untouched

        # the report of a run still computing: what is missing, in the terminal and the page
        assert first.poll() is None
        assert main(["report", str(out)]) == 0
        terminal = capsys.readouterr().out
        jobs = len(planned["jobs"])  # 3 images × (jpeg and gate) × 2 qualities
        assert jobs == 12
        line = terminal.splitlines()[0]
        missing = int(line.split()[2])
        # at least the gate's 6 jobs; at most every job (none committed yet)
        assert 6 <= missing <= jobs
        assert line == (
            f"run incomplete: {missing} of {jobs} jobs missing (a run is writing {out}: {owner})"
        )
        page = (out / "report.html").read_text()
        assert f"run incomplete: {missing} of {jobs} jobs missing" in page
        assert json.loads((out / "summary.json").read_text())["jobs_missing"] == missing
    finally:
        go.touch()
        stdout, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    assert "gate" in stdout and "webp" not in stdout
    assert _codecs(out) == {"jpeg", "gate"}
    page = (out / "report.html").read_text()
    assert "WebP lossy" not in page and "run incomplete" not in page
    assert json.loads((out / "summary.json").read_text())["jobs_missing"] == 0
    assert holder(out) is None  # let go

    second = _run(image_folder, out, tmp_path / "b.sqlite", "jpeg,webp", env)
    stdout, stderr = second.communicate(timeout=300)
    assert second.returncode == 0, stderr
    assert "webp" in stdout and "gate" not in stdout
    assert _codecs(out) == {"jpeg", "webp"}


def test_a_run_writes_its_own_manifest_whatever_the_folder_holds(image_folder, tmp_path):
    """The outputs are built from the run's own manifest, not from run.json read back: a
    run.json replaced under it (by hand, or by a licbench older than the lock) changes
    nothing in what it writes."""
    store = tmp_path / "store.sqlite"

    def request(codecs: list[str], out: Path) -> RunRequest:
        return RunRequest.from_options(
            f"folder:{image_folder}",
            codecs,
            qualities=[50],
            out=out,
            store=store,
            workers=1,
            metrics=["psnr-rgb"],
            progress=False,
        )

    other = plan(request(["webp"], tmp_path / "other"))
    mine = plan(request(["avif"], tmp_path / "out"))
    executed = execute(mine)
    other.manifest.save(tmp_path / "out")  # another run's run.json where mine was
    summary = write(mine, executed.fingerprint)
    assert set(summary.codecs) == {"jpeg", "avif"}
    assert _codecs(tmp_path / "out") == {"jpeg", "avif"}
    assert "WebP lossy" not in (tmp_path / "out" / "report.html").read_text()  # its description
