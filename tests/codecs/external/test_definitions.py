"""Definition files: the schema's checks, the registry, users' folders, timeouts, temp files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from licbench.codecs import CODECS, codec_info, create_codec
from licbench.codecs.external import (
    BUILTIN_FOLDER,
    DefinitionError,
    ExternalToolError,
    builtin_definitions,
    codec_class,
    load_definition,
    register_user_definitions,
)
from licbench.codecs.external.definition import parse_definition
from licbench.registry import Registry

PYTHON_TOOL = textwrap.dedent(
    """\
    name = "{name}"
    description = "a test codec: a Python script that copies the PNG"
    timeout = {timeout}

    [tools.python]
    command = "{python}"
    version = ["{{python}}", "--version"]
    version_pattern = "Python (\\\\S+)"

    [quality]
    parameter = "level"
    range = [1, 10]
    sweep = [2, 5]

    [encode]
    input = "png"
    output = "bin"
    command = ["{{python}}", "-c", "{encode}", "{{input}}", "{{output}}", "{{level}}"]

    [decode]
    output = "png"
    command = ["{{python}}", "-c", "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])",
               "{{input}}", "{{output}}"]
    """
)
COPY = "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])"
SLEEP = "import time; time.sleep(30)"


def python_definition(folder: Path, name: str, encode: str = COPY, timeout: float = 60) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        PYTHON_TOOL.format(name=name, timeout=timeout, python=sys.executable, encode=encode)
    )
    return path


def test_every_shipped_definition_is_registered_under_its_name():
    for name in builtin_definitions():
        assert name in CODECS
        assert CODECS.origin(name) == "licbench"
        cls = CODECS.get(name)
        assert cls.definition.name == name
        assert cls.definition.path == BUILTIN_FOLDER / f"{name}.toml"
    assert set(builtin_definitions()) == {"bpg", "cjxl", "vtm", "vvenc", "x265"}


def test_listing_codecs_never_crashes_on_missing_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing at all on PATH
    monkeypatch.setenv("LICBENCH_FFMPEG", str(tmp_path / "no-ffmpeg"))
    for name in builtin_definitions():
        info = codec_info(name)
        assert not info.availability.ok
        assert info.availability.reason and info.availability.hint
    assert "LICBENCH_FFMPEG" in codec_info("vvenc").availability.reason


def test_vvenc_reports_an_ffmpeg_without_libvvenc(fake_bin, monkeypatch):
    # a real (tiny) ffmpeg stand-in that lists encoders without libvvenc
    script = (
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *-encoders*) echo " V....D libx265  H.265 / HEVC";;\n'
        '  *-decoders*) echo " V....D hevc  HEVC"; echo " V....D vvc  VVC";;\n'
        "  *) echo 'ffmpeg version 6.0-test';;\n"
        "esac\n"
    )
    folder = fake_bin("ffmpeg-test", script=script)
    monkeypatch.setenv("LICBENCH_FFMPEG", str(folder / "ffmpeg-test"))
    availability = codec_info("vvenc").availability
    assert not availability.ok
    assert "built without libvvenc" in availability.reason
    assert "imageio-ffmpeg" in availability.hint


def test_a_user_definition_runs_and_keeps_its_tool_version(tmp_path, private_tmp, rgb_image):
    cls = codec_class(load_definition(python_definition(tmp_path, "copycat")))
    assert cls.available().ok
    codec = cls()
    assert f"python={sys.version.split()[0]}" in codec.version()
    assert codec.qualities == (2, 5) and codec.quality_range == (1, 10)
    data = codec.encode(rgb_image, 5)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(codec.decode(data), rgb_image)
    assert list(private_tmp.iterdir()) == []


def test_a_tool_that_hangs_is_stopped_at_the_timeout_and_cleaned_up(tmp_path, private_tmp):
    path = python_definition(tmp_path, "sleepy", encode=SLEEP, timeout=1)
    codec = codec_class(load_definition(path))()
    with pytest.raises(ExternalToolError, match="did not finish within 1 s"):
        codec.encode(np.zeros((8, 8, 3), np.uint8), 3)
    assert list(private_tmp.iterdir()) == []


def test_user_definitions_register_into_the_same_table(tmp_path, caplog):
    folder_a, folder_b = tmp_path / "a", tmp_path / "b"
    folder_a.mkdir()
    folder_b.mkdir()
    python_definition(folder_a, "mine")
    python_definition(folder_b, "theirs")
    registry: Registry = Registry("codec")
    names = register_user_definitions(registry, f"{folder_a}{os.pathsep}{folder_b}")
    assert names == ["mine", "theirs"]
    assert registry.origin("mine") == f"definition {folder_a / 'mine.toml'}"
    # a name that is taken stays with its first owner; the file is skipped, with a warning
    clash = tmp_path / "clash"
    clash.mkdir()
    python_definition(clash, "bpg")
    with caplog.at_level("WARNING"):
        assert register_user_definitions(CODECS, str(clash)) == []
    assert CODECS.origin("bpg") == "licbench"
    assert caplog.messages == [
        "codec 'bpg' is already registered by licbench; definition "
        f"{clash / 'bpg.toml'} cannot register it again; {clash / 'bpg.toml'} is ignored"
    ]


def test_licbench_codecs_path_is_read_when_licbench_codecs_is_imported(tmp_path):
    python_definition(tmp_path, "from-env")
    env = {**os.environ, "LICBENCH_CODECS_PATH": str(tmp_path)}
    code = (
        "from licbench.codecs import CODECS, create_codec\n"
        "print(CODECS.origin('from-env'))\n"
        "print(create_codec('from-env').qualities)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"definition {tmp_path / 'from-env.toml'}", "(2, 5)"]


def test_a_colliding_user_definition_is_ignored_with_a_warning(tmp_path):
    # it must not break every command (they all import licbench.codecs): the built-in keeps it
    python_definition(tmp_path, "jpeg")
    env = {**os.environ, "LICBENCH_CODECS_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "licbench.cli", "codecs"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[3],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[0] == (
        "codec 'jpeg' is already registered by licbench; definition "
        f"{tmp_path / 'jpeg.toml'} cannot register it again; {tmp_path / 'jpeg.toml'} is ignored"
    )
    assert any(line.startswith("jpeg ") and "libjpeg" in line for line in done.stdout.splitlines())


BASE = """
[tools.t]
command = "true"
version = ["{t}", "--version"]
[quality]
range = [0, 10]
sweep = [5]
[encode]
input = "png"
output = "bin"
command = ["{t}", "{input}", "{output}", "{quality}"]
[decode]
output = "png"
command = ["{t}", "{input}", "{output}"]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"{t}", "{input}", "{output}", "{quality}"', '"{t} {input} {output}"'), None),
        (('command = ["{t}", "{input}", "{output}"]', 'command = "{t} {input}"'), "list"),
        (('"{quality}"]', '"{qualty}"]'), "unknown placeholder"),
        (('command = ["{t}", "{input}", "{output}"]', 'command = ["{t}", "{quality}"]'), "bytes"),
        (('output = "png"\ncommand', 'output = "yuv"\ncommand'), "prefix"),
        (('input = "png"', 'input = "jpeg"'), "encode.input"),
        (("range = [0, 10]", "range = [10, 0]"), "low < high"),
        (("sweep = [5]", "sweep = [50]"), "outside"),
        (('command = "true"', 'command = "true"\nflavour = 1'), "unknown key"),
        (('"{output}", "{quality}"]', '"{output}", "{0}"]'), "plain placeholders"),
        (("[tools.t]", "timeout_per_megapixel = -1\n[tools.t]"), "timeout_per_megapixel must"),
        (("[tools.t]", 'default_run = "no"\n[tools.t]'), "default_run must be true or false"),
        (("[quality]", '[params.c]\nsearch = ["{t_dir}/c.cfg"]\n[quality]'), 'kind = "file"'),
        (
            ("[quality]", '[params.c]\nkind = "file"\nsearch = ["{x_dir}/c.cfg"]\n[quality]'),
            "only the tools' folders",
        ),
        (("[quality]", '[yuv]\nchroma = "{c}"\n[quality]'), "needs \\[params.c\\]"),
        (
            (
                "[quality]",
                '[params.c]\ndefault = "444"\nchoices = ["444", "422"]\n[yuv]\n'
                'chroma = "{c}"\n[quality]',
            ),
            "choices among",
        ),
    ],
)
def test_definition_errors_name_the_file_and_the_problem(change, message):
    old, new = change
    assert old in BASE
    text = BASE.replace(old, new, 1)
    if message is None:  # one argument holding several placeholders is allowed
        assert parse_definition(text, Path("ok.toml")).name == "ok"
        return
    with pytest.raises(DefinitionError, match=message) as caught:
        parse_definition(text, Path("broken.toml"))
    assert "broken.toml" in str(caught.value)


def test_definition_is_part_of_the_version(tmp_path):
    first = codec_class(load_definition(python_definition(tmp_path, "v")))
    path = tmp_path / "v.toml"
    path.write_text(path.read_text().replace("sweep = [2, 5]", "sweep = [2, 6]"))
    second = codec_class(load_definition(path))
    assert first().version() != second().version()


def test_spec_parameters_are_checked():
    from licbench.codecs.base import CodecSpecError

    with pytest.raises(CodecSpecError, match="choose from"):
        create_codec("x265:preset=warp")
    with pytest.raises(CodecSpecError, match="unknown parameter"):
        create_codec("cjxl:speed=3")


def test_a_file_parameter_found_beside_a_tool_and_chroma_chosen_by_a_parameter(tmp_path):
    extra = (
        '[params.c]\nkind = "file"\nrequired = true\n'
        'search = ["{t_dir}/../cfg/c.cfg", "{t_dir}/c.cfg"]\n'
        '[params.chroma]\ndefault = "444"\nchoices = ["444", "420"]\n'
        '[yuv]\nchroma = "{chroma}"\n'
    )
    text = BASE.replace("[quality]", extra + "[quality]", 1)
    definition = parse_definition(text, Path("found.toml"))
    assert definition.params["c"].search == ("{t_dir}/../cfg/c.cfg", "{t_dir}/c.cfg")
    assert definition.yuv.chroma == "444" and definition.yuv.chroma_param == "chroma"
    assert definition.timeout_per_megapixel == 0 and definition.default_run
