"""Every value on the command line gets a result or one line and exit 2, never a traceback.

Issue 13, item 3: NaN, ±inf, out-of-range and non-integer qualities, an empty list, ``--timeout
inf``, a malformed ``--scheduler``, NaN gate thresholds, and training values that train nothing
were accepted (or crashed). ``main()`` runs in-process; runs point at a dataset that does not
exist, so the values are checked and nothing is computed.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import pytest
from PIL import Image

from licbench.cli import _scheduler, main

NO_DATASET = "folder:/no/such/licbench/folder"
DATASET_LINE = "licbench run: folder dataset: /no/such/licbench/folder does not exist"


def cli(*argv: str) -> tuple[int, list[str]]:
    """``licbench ARGV`` in-process: the exit status and the lines written to stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(list(argv))
        except SystemExit as exc:  # argparse's own exit
            status = exc.code if isinstance(exc.code, int) else 2
    text = err.getvalue()
    assert "Traceback" not in text, text
    return status, [line for line in text.splitlines() if not line.startswith("WARNING:")]


def run_args(tmp_path: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--dataset",
        NO_DATASET,
        "--codecs",
        "jpeg",
        "--store",
        str(tmp_path / "store.sqlite"),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
        "--workers",
        "1",
        *extra,
    ]


def _valid_jpeg_qualities(text: str) -> bool:
    """The oracle: what JPEG (integers 1..100) can take, written independently of licbench."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    try:
        values = [float(item) for item in items]
    except ValueError:
        return False
    return bool(values) and all(
        math.isfinite(v) and v.is_integer() and 1 <= v <= 100 for v in values
    )


def _argument(message: str) -> str:
    return f"licbench run: argument --qualities: {message} (see licbench run --help)"


NOT_INTEGER = "jpeg: quality 50.5 is not an integer (its qualities are 1–100 in steps of 1)"


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("", _argument("give at least one number")),
        (",, ,", _argument("give at least one number")),
        ("nan", _argument("'nan' is not a finite number")),
        ("10,inf", _argument("'10,inf': 'inf' is not a finite number")),
        ("-inf", _argument("'-inf' is not a finite number")),
        ("1e999", _argument("'1e999' is not a finite number")),
        ("ten", _argument("'ten' is not a number")),
        ("150", "licbench run: jpeg: quality 150 is outside 1–100"),
        ("20,50.5", f"licbench run: {NOT_INTEGER}"),
        ("0", "licbench run: jpeg: quality 0 is outside 1–100"),
        ("20,50", DATASET_LINE),  # valid: the run goes on to the (missing) dataset
    ],
)
def test_qualities_values(tmp_path, value, line):
    status, lines = cli(*run_args(tmp_path, f"--qualities={value}"))
    assert (status, lines) == (2, [line])
    assert not (tmp_path / "store.sqlite").exists()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--timeout", "inf"], "argument --timeout: 'inf': must be a finite number of seconds"),
        (["--timeout", "nan"], "argument --timeout: 'nan': must be a finite number of seconds"),
        (["--timeout=-1"], "argument --timeout: '-1': must be a finite number of seconds"),
        (["--target-bpp="], "argument --target-bpp: give at least one number"),
        (["--target-bpp", "nan"], "argument --target-bpp: 'nan' is not a finite number"),
        (["--target-bpp", "0"], "--target-bpp values must be positive numbers, got [0.0]"),
        (["--executor", "dask", "--scheduler", "garbage"], "'garbage' is not a scheduler address"),
        (["--executor", "dask", "--scheduler", "tcp://"], "'tcp://' is not a scheduler address"),
        (["--executor", "dask", "--scheduler", "tcp://h:0"], "is not a scheduler address"),
        (["--executor", "dask", "--scheduler", "tcp://h:99999"], "is not a scheduler address"),
        (["--executor", "dask", "--scheduler", "tcp://h:80x"], "is not a scheduler address"),
        (["--executor", "dask", "--scheduler", "tcp://a b:8786"], "is not a scheduler address"),
        (["--executor", "dask", "--scheduler", "http://h:8786"], "the protocol must be one of"),
        (["--executor", "dask", "--scheduler", "inproc://10.0.0.1/1/1"], "protocol must be"),
    ],
)
def test_run_option_values(tmp_path, extra, fragment):
    status, lines = cli(*run_args(tmp_path, *extra))
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith("licbench run: ") and fragment in lines[0]


def test_scheduler_addresses_dask_takes_pass_unchanged(tmp_path):
    for address in (
        "tcp://10.0.0.5:8786",
        "10.0.0.5:8786",
        "tls://sched.lan:8786",
        "tcp://[::1]:1",
    ):
        assert _scheduler(address) == address
    scheduler_file = tmp_path / "scheduler.json"
    scheduler_file.write_text(json.dumps({"type": "Scheduler", "address": "tcp://10.1.2.3:8786"}))
    assert _scheduler(str(scheduler_file)) == "tcp://10.1.2.3:8786"
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    status, lines = cli(*run_args(tmp_path, "--executor", "dask", "--scheduler", str(junk)))
    assert status == 2 and "is a file, but not a Dask scheduler file" in lines[0]


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max-bd-rate", "nan"), ("--max-bd-rate", "inf"), ("--max-bpp-increase", "nan")],
)
def test_check_refuses_non_finite_thresholds_before_reading_runs(tmp_path, flag, value):
    status, lines = cli(
        "check", "--baseline", str(tmp_path), "--candidate", str(tmp_path), flag, value
    )
    reason = f"argument {flag}: {value!r} is not a finite number"
    assert (status, lines) == (2, [f"licbench check: {reason} (see licbench check --help)"])


@pytest.fixture
def train_data(tmp_path: Path) -> Path:
    folder = tmp_path / "train-images"
    folder.mkdir()
    Image.new("RGB", (64, 64), (10, 120, 200)).save(folder / "good.png")
    return folder


def train_args(data: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train", "--arch", "cca", "--config", "tiny", "--lmbda", "0.01", "--data", str(data),
        "--steps", "1", "--crop", "64", "--batch-size", "1", "--out", str(out), "--no-progress",
        *extra,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--lmbda", "0"], "argument --lmbda: '0': must be more than 0"),
        (["--lmbda=-0.01"], "argument --lmbda: '-0.01': must be more than 0"),
        (["--lmbda", "nan"], "argument --lmbda: 'nan' is not a finite number"),
        (["--alpha=-1"], "argument --alpha: '-1': must be 0 or more"),
        (["--alpha", "nan"], "argument --alpha: 'nan' is not a finite number"),
        (["--lr", "0"], "argument --lr: '0': must be more than 0"),
        (["--lr", "inf"], "argument --lr: 'inf' is not a finite number"),
    ],
)
def test_train_values(train_data, tmp_path, extra, fragment):
    out = tmp_path / "q.pt"
    status, lines = cli(*train_args(train_data, out, *extra))
    assert status == 2 and len(lines) == 1 and fragment in lines[0], lines
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "not a readable image (UnidentifiedImageError"),
        (b"hello, not a picture", "not a readable image (UnidentifiedImageError"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable image"),
    ],
)
def test_train_names_an_unreadable_image_before_training(train_data, tmp_path, content, fragment):
    bad = train_data / "sub" / "broken.png"
    bad.parent.mkdir()
    bad.write_bytes(content)
    out = tmp_path / "q.pt"
    status, lines = cli(*train_args(train_data, out))
    assert status == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"licbench train: {bad}: ") and fragment in lines[0]
    assert not out.exists()


def test_train_config_values_are_checked_for_api_callers_too(train_data, tmp_path):
    from licbench.codecs.learned.train import check_config
    from licbench.codecs.learned.train_config import TrainConfig

    base = dict(arch="cca", config="tiny", data=str(train_data), val=None, steps=1, out="x.pt")
    check_config(TrainConfig(lmbda=0.01, alpha=0.0, **base))  # alpha 0 turns the CCA term off
    for lmbda, alpha, message in [
        (math.nan, 1.0, "--lmbda must be a finite number more than 0, got nan"),
        (-1.0, 1.0, "--lmbda must be a finite number more than 0, got -1.0"),
        (0.01, -0.5, "--alpha must be a finite number 0 or more, got -0.5"),
        (0.01, math.inf, "--alpha must be a finite number 0 or more, got inf"),
    ]:
        with pytest.raises(ValueError) as caught:
            check_config(TrainConfig(lmbda=lmbda, alpha=alpha, **base))
        assert str(caught.value) == message


hypothesis = pytest.importorskip("hypothesis")
strategies = hypothesis.strategies
QUALITY_TEXT = strategies.one_of(
    strategies.text(alphabet="0123456789.,-+e_ nafiINFx", max_size=16),
    strategies.lists(strategies.integers(-5, 130).map(str), min_size=1, max_size=4).map(",".join),
    strategies.lists(
        strategies.floats(allow_nan=True, allow_infinity=True).map(repr), max_size=3
    ).map(",".join),
    strategies.text(max_size=12),
)


@hypothesis.settings(max_examples=120, deadline=None)
@hypothesis.given(text=QUALITY_TEXT)
def test_fuzz_qualities_give_one_line_and_exit_2(tmp_path_factory, text):
    tmp_path = tmp_path_factory.mktemp("fuzz")
    status, lines = cli(*run_args(tmp_path, f"--qualities={text}"))
    assert status == 2 and len(lines) == 1, (text, lines)
    if _valid_jpeg_qualities(text):
        assert lines == [DATASET_LINE], (text, lines)
    else:
        assert lines[0] != DATASET_LINE and "qualit" in lines[0], (text, lines)
    assert not (tmp_path / "store.sqlite").exists()
