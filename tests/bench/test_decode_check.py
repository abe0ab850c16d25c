"""``--decode-check``: a reproducible decoder passes, one that is not fails, and the gate sees it.

Two of a user's own CompressAI-API models on small synthetic images: ``TinyNet`` (a factorized
prior: its entropy tables do not depend on the image, so any setup decodes the same symbols)
and ``ThreadScaled`` (a scale hyperprior whose decoder scales its entropy parameters by the
thread count: what a reduction that sums differently on two threads does, made large, so the
range decoder desynchronises). The check varies the thread count; the run's workers use one.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from licbench.api import UsageError, run
from licbench.bench import decode_check
from licbench.bench.store import Store
from licbench.cli import main
from licbench.reports.check import compare
from tests.codecs.learned.compressai_fixtures import liven, write_user_package
from tests.conftest import synthetic_image

TINY = "compressai:model=tinypkg.models:TinyNet,seed=2,weights=random"
THREAD_SCALED = '''
"""A decoder whose entropy parameters depend on the thread count: not reproducible."""
import torch
from compressai.models import ScaleHyperprior


class ThreadScaled(ScaleHyperprior):
    def __init__(self):
        super().__init__(8, 12)

    def decompress(self, strings, shape):
        z_hat = self.entropy_bottleneck.decompress(strings[1], shape)
        scales_hat = self.h_s(z_hat) * 2.0 ** (torch.get_num_threads() - 1)
        indexes = self.gaussian_conditional.build_indexes(scales_hat)
        y_hat = self.gaussian_conditional.decompress(strings[0], indexes, z_hat.dtype)
        return {"x_hat": self.g_s(y_hat).clamp_(0, 1)}
'''


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    root = write_user_package(tmp_path_factory.mktemp("site"))
    (root / "tinypkg" / "scaled.py").write_text(THREAD_SCALED)
    sys.path.insert(0, str(root))
    images = tmp_path_factory.mktemp("images")
    for name, seed in (("a.png", 1), ("b.png", 2)):
        Image.fromarray(synthetic_image(64, 96, seed)).save(images / name)
    from licbench.codecs import create_codec

    net = create_codec("compressai:model=tinypkg.scaled:ThreadScaled,weights=random,seed=1").model(
        1
    )
    liven(net, synthetic_image(64, 96, 1))
    ckpt = root / "scaled.pth"
    torch.save(net.state_dict(), ckpt)
    # (as the run labels them: parameters in canonical order)
    yield {
        "root": root,
        "images": images,
        "scaled": f"compressai:ckpt={ckpt},model=tinypkg.scaled:ThreadScaled",
    }
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "tinypkg" or m.startswith("tinypkg.")]:
        del sys.modules[name]


def _run(setup, out: Path, monkeypatch, check=("threads=2",), **options):
    monkeypatch.setenv("PYTHONPATH", str(setup["root"]))  # the check's fresh processes import it
    codecs = [TINY, setup["scaled"]]
    return run(
        f"folder:{setup['images']}",
        codecs,
        out=out,
        store=out.parent / f"{out.name}.sqlite",
        workers=1,
        progress=False,
        decode_check=list(check) if check is not None else None,
        **options,
    )


@pytest.fixture(scope="module")
def checked(setup, tmp_path_factory: pytest.TempPathFactory):
    """One run of both models with the check: its folder and result."""
    tmp_path = tmp_path_factory.mktemp("checked")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return tmp_path, _run(setup, tmp_path / "run", monkeypatch)


def test_the_check_passes_a_reproducible_decoder_and_fails_the_other(setup, checked):
    tmp_path, result = checked
    section = json.loads((tmp_path / "run" / "summary.json").read_text())["decode_check"]
    tiny, scaled = section["codecs"][TINY], section["codecs"][setup["scaled"]]
    assert tiny["jobs"] == 2 and tiny["failed"] == 0 and tiny["bit_exact"] == 2
    assert tiny["max_abs_diff"] == 0 and tiny["max_psnr_drop_db"] == 0
    assert scaled["jobs"] == 2 and scaled["failed"] == 2 and scaled["bit_exact"] == 0
    assert scaled["max_psnr_drop_db"] > 1 and scaled["max_abs_diff"] > 10
    assert scaled["per_setup"]["threads=2"]["failed"] == 2
    assert [s["name"] for s in section["setups"]] == ["threads=2"]
    assert section["setups"][0]["observed"]["threads"] == "2"
    assert section["threshold_db"] == decode_check.THRESHOLD_DB
    assert "integer decoder" in section["skipped"]["jpeg"]
    assert any("a.png at quality 1, threads=2: PSNR" in f for f in scaled["failures"])
    assert result.summary.decode_check_failed(setup["scaled"]) == 2
    report = (tmp_path / "run" / "report.html").read_text()
    assert 'id="decode-check"' in report and "FAILED" in report
    with Store(tmp_path / "run.sqlite") as store:  # one row per job and setup, kept
        rows = store.get_decode_checks(_job_keys(tmp_path / "run"))
    assert len(rows) == 4 and all(key[1] == "threads=2" for key in rows)


def _job_keys(folder: Path) -> list[str]:
    return json.loads((folder / "run.json").read_text())["jobs"]


def test_a_rerun_checks_nothing_again_and_jobs_from_the_store_are_encoded_again(
    setup, tmp_path, monkeypatch
):
    _run(setup, tmp_path / "run", monkeypatch, check=None)  # jobs stored, nothing kept
    calls = []
    original = decode_check._run_all

    def counting(tasks, *args, **kwargs):
        calls.append([(s.name, mode, len(jobs)) for s, mode, jobs in tasks])
        return original(tasks, *args, **kwargs)

    monkeypatch.setattr(decode_check, "_run_all", counting)
    result = _run(setup, tmp_path / "run", monkeypatch)
    assert calls == [[("run", "reference", 4)], [("threads=2", "check", 4)]]
    assert result.counts["computed"] == 0
    assert result.summary.decode_check["notes"] == []  # the encoders are deterministic
    assert result.summary.decode_check_failed(setup["scaled"]) == 2
    calls.clear()
    again = _run(setup, tmp_path / "run", monkeypatch)
    assert calls == [] and again.summary.decode_check == result.summary.decode_check


def test_check_gates_on_more_failed_bitstreams(setup, checked, tmp_path):
    """(The codecs have one rate point, so their BD-rates fail the gate too: only the decode
    check's failure is looked at.)"""
    codec = setup["scaled"]
    summary = json.loads((checked[0] / "run" / "summary.json").read_text())
    base, cand = tmp_path / "base.json", tmp_path / "cand.json"
    cand.write_text(json.dumps(summary))

    def gate(baseline: dict):
        base.write_text(json.dumps(baseline))
        check = {c.codec: c for c in compare(base, cand).codecs}[codec]
        return check, [f for f in check.failures if f.startswith("decode check")]

    check, failures = gate(summary)
    assert check.decode_check_failed == [2, 2] and failures == []
    fewer = json.loads(json.dumps(summary))
    fewer["decode_check"]["codecs"][codec]["failed"] = 1
    fewer["decode_check"]["codecs"][codec]["per_setup"]["threads=2"]["failed"] = 1
    check, failures = gate(fewer)
    assert check.decode_check_failed == [1, 2] and not check.passed
    assert failures == [
        "decode check: 2 bitstream(s) decode differently under setup threads=2, the baseline 1"
    ]
    other = json.loads(json.dumps(fewer))  # measured under another setup: shown, not gated
    per_setup = other["decode_check"]["codecs"][codec]["per_setup"]
    per_setup["sse41"] = per_setup.pop("threads=2")
    check, failures = gate(other)
    assert failures == [] and any("not in both runs" in note for note in check.notes)
    check, failures = gate({k: v for k, v in summary.items() if k != "decode_check"})
    assert check.decode_check_failed == [None, 2] and failures == []
    assert any("the baseline did not run it" in note for note in check.notes)


def test_unknown_setups_and_a_missing_gpu_are_usage_errors(setup, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="unknown decode-check setup 'avx3'"):
        _run(setup, tmp_path / "run", monkeypatch, check=("avx3",))
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="no CUDA device"):
            _run(setup, tmp_path / "run", monkeypatch, check=("cuda",))
    status = main(["run", "--decode-check", "threads=0", "--out", str(tmp_path / "x")])
    assert status == 2


def test_the_command_line_prints_a_line_per_codec(setup, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYTHONPATH", str(setup["root"]))
    argv = ["run", "--dataset", f"folder:{setup['images']}", "--codecs", setup["scaled"]]
    argv += ["--out", str(tmp_path / "cli"), "--store", str(tmp_path / "cli.sqlite")]
    argv += ["--workers", "1", "--no-progress", "--decode-check", "threads=2"]
    main(argv)
    out = capsys.readouterr().out
    assert f"decode check {setup['scaled']}: FAILED: 2 bitstreams × 1 setups (threads=2)" in out
    shutil.rmtree(tmp_path / "cli")


def test_a_check_process_that_dies_is_a_note_and_is_retried(setup, tmp_path, monkeypatch):
    """A check that cannot run never counts as a failed bitstream, and the next run retries."""
    original = decode_check._task

    def broken(setup_, mode, jobs, spool, max_pixels):
        task = original(setup_, mode, jobs, spool, max_pixels)
        return {**task, "jobs": None} if mode == "check" else task  # the worker crashes on it

    monkeypatch.setattr(decode_check, "_task", broken)
    result = _run(setup, tmp_path / "run", monkeypatch)
    notes = result.summary.decode_check["notes"]
    assert len(notes) == 1 and "process for setup threads=2 failed (exit 1)" in notes[0]
    assert result.summary.decode_check["codecs"] == {}
    with Store(tmp_path / "run.sqlite") as store:
        assert store.get_decode_checks(_job_keys(tmp_path / "run")) == {}
    monkeypatch.setattr(decode_check, "_task", original)
    again = _run(setup, tmp_path / "run", monkeypatch)
    assert again.summary.decode_check["notes"] == []
    assert again.summary.decode_check_failed(setup["scaled"]) == 2
