"""A tool's processes and output are bounded (issue 13, item 8).

A timed-out, failed or finished tool takes its whole process group with it (a wrapper script's
``sleep`` children and their children too), its temporary folder (a copy of the user's image) is
removed, and its output is kept only up to a cap however much it prints.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from licbench.codecs.external import ExternalToolError, codec_class, load_definition
from licbench.codecs.external.tools import CAPTURE_LIMIT, OUTPUT_TAIL, execute, run

#: starts a child and a grandchild that would sleep for a minute, records every pid, then acts
SPAWNER = textwrap.dedent(
    """\
    #!/bin/sh
    pids="$1"; shift
    sleep 60 &
    echo $! >> "$pids"
    sh -c 'sleep 60 & echo $! >> "$1"; exec sleep 61' sh "$pids" &
    echo $! >> "$pids"
    echo $$ >> "$pids"
    for arg in "$@"; do echo "$arg" >> "$pids.args"; done
    sleep 0.2
    case "$MODE" in
      hang) sleep 60 ;;
      fail) echo "the encoder gave up" >&2; exit 3 ;;
      *) cp "$1" "$2" ;;
    esac
    """
)


@pytest.fixture
def spawner(tmp_path: Path) -> Path:
    script = tmp_path / "spawner.sh"
    script.write_text(SPAWNER)
    script.chmod(0o755)
    return script


def _living(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _pids(path: Path) -> list[int]:
    pids = [int(line) for line in path.read_text().split()]
    assert len(pids) == 4  # sleep, sh (grandparent of a sleep), that sleep, the script itself
    return pids


@pytest.mark.parametrize("mode", ["hang", "fail", "done"])
def test_the_tools_whole_process_group_ends_with_it(tmp_path, spawner, monkeypatch, mode):
    monkeypatch.setenv("MODE", mode)
    pids_file = tmp_path / "pids"
    source, target = tmp_path / "in.bin", tmp_path / "out.bin"
    source.write_bytes(b"picture")
    start = time.monotonic()
    if mode == "done":
        run([str(spawner), str(pids_file), str(source), str(target)], timeout=30)
        assert target.read_bytes() == b"picture"
    else:
        match = "did not finish within 1 s" if mode == "hang" else "status 3: the encoder gave up"
        with pytest.raises(ExternalToolError, match=match):
            run([str(spawner), str(pids_file), str(source), str(target)], timeout=1)
    # returned at once: no wait for the children's pipes or sleeps
    assert time.monotonic() - start < 10
    pids = _pids(pids_file)
    assert all(os.getpgid(os.getpid()) != pid for pid in pids)
    deadline = time.monotonic() + 5
    while _living(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _living(pids) == []


def _shell_definition(folder: Path, script: Path, pids: Path) -> Path:
    path = folder / "shelly.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            timeout = 1
            [tools.sh]
            command = "/bin/sh"
            version = ["{{python}}", "--version"]
            [tools.python]
            command = "{sys.executable}"
            version = ["{{python}}", "--version"]
            [quality]
            parameter = "level"
            range = [1, 10]
            sweep = [5]
            [encode]
            input = "png"
            output = "bin"
            command = ["{{sh}}", "{script}", "{pids}", "{{input}}", "{{output}}"]
            [decode]
            output = "png"
            command = ["{{sh}}", "{script}", "{pids}", "{{input}}", "{{output}}"]
            """
        )
    )
    return path


def test_a_timed_out_codec_leaves_no_copy_of_the_image_and_no_process(
    tmp_path, spawner, private_tmp, monkeypatch
):
    monkeypatch.setenv("MODE", "hang")
    pids_file = tmp_path / "pids"
    codec = codec_class(load_definition(_shell_definition(tmp_path, spawner, pids_file)))()
    with pytest.raises(ExternalToolError, match="did not finish within 1 s"):
        codec.encode(np.full((8, 8, 3), 7, np.uint8), 5)
    image_copy = Path((tmp_path / "pids.args").read_text().split()[0])
    assert image_copy.name == "input.png" and image_copy.parent.parent == private_tmp
    assert not image_copy.exists()
    assert list(private_tmp.iterdir()) == []
    deadline = time.monotonic() + 5
    while _living(_pids(pids_file)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _living(_pids(pids_file)) == []


def test_a_tool_printing_100_mb_keeps_only_the_end_of_it():
    printer = (
        "import sys\n"
        "block = b'x' * (1 << 20)\n"
        "for _ in range(100): sys.stdout.buffer.write(block)\n"
        "sys.stdout.buffer.write(b'THE END')\n"
        "sys.stderr.write('e' * 200000 + 'LAST WORDS')\n"
    )
    before = psutil.Process().memory_info().rss
    done = execute([sys.executable, "-c", printer], timeout=120)
    grown = psutil.Process().memory_info().rss - before
    assert done.returncode == 0
    assert len(done.stdout) == CAPTURE_LIMIT and done.stdout.endswith(b"xTHE END")
    assert len(done.stderr) == CAPTURE_LIMIT and done.stderr.endswith(b"eLAST WORDS")
    assert grown < 20 * (1 << 20)  # a few pipe chunks, never the 100 MB


def test_a_failing_tools_error_quotes_the_end_of_its_output():
    chatty = "import sys; sys.stderr.write('noise ' * 100000 + 'the real reason'); sys.exit(2)"
    with pytest.raises(ExternalToolError) as caught:
        run([sys.executable, "-c", chatty], timeout=60)
    message = str(caught.value)
    assert message.endswith("the real reason")
    assert len(message) < OUTPUT_TAIL + 400


def test_a_tool_that_cannot_start_says_so(tmp_path):
    with pytest.raises(ExternalToolError, match="could not be started"):
        run([str(tmp_path / "no-such-tool")], timeout=5)
