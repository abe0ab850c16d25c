"""Users' definition folders cannot break licbench (issue 13, item 7).

A malformed file becomes a codec that is unavailable, with the parse error (file and line) as
the reason; commands that run no codec never notice it; a definition that keeps the quality
parameter's default name works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from licbench.api import UsageError, make_codecs
from licbench.codecs import CODECS, CodecSpec, codec_info, create_codec
from licbench.codecs.base import CodecSpecError
from licbench.codecs.external import (
    DefinitionError,
    codec_class,
    load_definition,
    register_user_definitions,
)
from licbench.codecs.external.definition import parse_definition
from licbench.registry import Registry

REPO = Path(__file__).resolve().parents[3]
BROKEN = 'name = "broken"\ndescription = "a typo on line 2"\n[tools\ncommand = "x"\n'
PARSE_ERROR = "Expected ']' at the end of a table declaration (at line 3, column 7)"


#: a valid definition; the tests below break one line of it
BASE = textwrap.dedent(
    f"""\
    [tools.t]
    command = "{sys.executable}"
    version = ["{{t}}", "--version"]
    [quality]
    range = [0, 10]
    sweep = [5]
    [encode]
    input = "png"
    output = "bin"
    command = ["{{t}}", "-c", "import shutil, sys; shutil.copy(*sys.argv[1:3])", "{{input}}",
               "{{output}}", "{{quality}}"]
    [decode]
    output = "png"
    command = ["{{t}}", "-c", "import shutil, sys; shutil.copy(*sys.argv[1:3])", "{{input}}",
               "{{output}}"]
    """
)


def _broken_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "defs"
    folder.mkdir()
    (folder / "broken.toml").write_text(BROKEN)
    (folder / "fine.toml").write_text(BASE)
    return folder


def test_a_malformed_definition_registers_as_unavailable_with_file_and_line(tmp_path):
    folder = _broken_folder(tmp_path)
    registry: Registry = Registry("codec")
    assert register_user_definitions(registry, str(folder)) == ["broken", "fine"]
    cls = registry.get("broken")
    availability = cls.available()
    reason = f"codec definition {folder / 'broken.toml'}: not valid TOML: {PARSE_ERROR}"
    assert (availability.ok, availability.reason) == (False, reason)
    assert availability.hint == f"fix or remove {folder / 'broken.toml'}"
    with pytest.raises(CodecSpecError) as caught:
        cls()
    assert str(caught.value) == reason
    assert registry.get("fine").available().ok  # its neighbour is unaffected


def test_a_run_naming_the_broken_codec_is_a_one_line_usage_error(tmp_path, monkeypatch):
    folder = _broken_folder(tmp_path)
    monkeypatch.setattr(CODECS, "_entries", dict(CODECS._entries))
    monkeypatch.setattr(CODECS, "_origins", dict(CODECS._origins))
    register_user_definitions(CODECS, str(folder))
    assert not codec_info("broken").availability.ok
    with pytest.raises(UsageError) as caught:
        make_codecs([CodecSpec("broken")])
    message = str(caught.value)
    assert message.startswith("codec 'broken' is unavailable: codec definition ")
    assert PARSE_ERROR in message and "\n" not in message


def test_every_command_works_with_a_broken_definition_on_the_path(tmp_path):
    folder = _broken_folder(tmp_path)
    code = textwrap.dedent(
        f"""\
        import sys
        from licbench.cli import main
        print("codecs", main(["codecs", "b*"]), flush=True)
        print("datasets", main(["datasets"]), flush=True)
        print("check", main(["check", "--baseline", {str(tmp_path / "a")!r},
                             "--candidate", {str(tmp_path / "b")!r}]), flush=True)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "LICBENCH_CODECS_PATH": str(folder)},
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert (
        f"broken             unavailable  codec definition {folder / 'broken.toml'}"
        in "\n".join(out)
    )
    assert "codecs 0" in out and "datasets 0" in out and "check 2" in out
    assert any(line.startswith("kodak-sample") for line in out)
    # check's exit 2 is its own one line about the missing run, not the definition
    assert len(done.stderr.splitlines()) == 1 and "licbench check:" in done.stderr
    assert "broken" not in done.stderr


def test_a_definition_keeping_the_default_quality_parameter_encodes(tmp_path, rgb_image):
    # BASE names no quality.parameter: its commands use {quality} (this used to fail every job
    # with "got multiple values for keyword argument 'quality'")
    path = tmp_path / "plain.toml"
    path.write_text(BASE)
    codec = codec_class(load_definition(path))()
    assert codec.definition.quality.parameter == "quality"
    argv = codec.encode_argv(Path("in.png"), Path("out.bin"), 4, 4, 6)
    assert argv[-3:] == ["in.png", "out.bin", "6"]
    assert np.array_equal(codec.decode(codec.encode(rgb_image, 6)), rgb_image)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[tools.t]", "timeout = nan\n[tools.t]", "positive, finite number of seconds"),
        ("[tools.t]", "timeout = inf\n[tools.t]", "positive, finite number of seconds"),
        ("range = [0, 10]", "range = [0, inf]", "finite numbers with low < high"),
        ("range = [0, 10]", "range = [nan, 10]", "finite numbers with low < high"),
        ("sweep = [5]", "sweep = [nan]", "outside"),
    ],
)
def test_non_finite_numbers_in_a_definition_are_refused(old, new, message):
    assert old in BASE
    with pytest.raises(DefinitionError, match=message):
        parse_definition(BASE.replace(old, new, 1), Path("numbers.toml"))


def test_create_codec_of_a_broken_definition_says_why(tmp_path, monkeypatch):
    folder = _broken_folder(tmp_path)
    monkeypatch.setattr(CODECS, "_entries", dict(CODECS._entries))
    monkeypatch.setattr(CODECS, "_origins", dict(CODECS._origins))
    register_user_definitions(CODECS, str(folder))
    with pytest.raises(CodecSpecError, match="not valid TOML"):
        create_codec("broken")
