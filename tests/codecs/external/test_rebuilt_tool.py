"""A rebuilt tool is measured again, though its ``--version`` says the same (issue 20, item 4).

The tool is an executable script (a local build would be a binary: the same for licbench): its
version output never changes, its bytes do. Its sha256 is in the codec's ``version()``, so the
codec key and every job key change and a re-run computes again instead of serving the old
build's results. The digest is cached by the file's identity, in memory and on disk under
``LICBENCH_HOME``, so asking again costs a ``stat``, not a hash.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench import api
from licbench.bench.jobs import codec_key
from licbench.codecs import CODECS, create_codec
from licbench.codecs.external import codec_class, fingerprint, load_definition

SCRIPT = textwrap.dedent(
    f"""\
    #!{sys.executable}
    import shutil, sys
    if sys.argv[1] == "--version":
        print("fake-tool 1.0")
    else:
        shutil.copy(sys.argv[2], sys.argv[3])
    # build {{build}}
    """
)


def write_tool(path: Path, build: int) -> None:
    path.write_text(SCRIPT.format(build=build))
    path.chmod(0o755)


@pytest.fixture
def tool_codec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A registered codec running the script ``tool``; (its name, the script)."""
    tool = tmp_path / "bin" / "fake-tool"
    tool.parent.mkdir()
    write_tool(tool, 1)
    definition = tmp_path / "rebuilt.toml"
    definition.write_text(
        textwrap.dedent(
            f"""\
            name = "rebuilt"
            [tools.t]
            command = "{tool}"
            version = ["{{t}}", "--version"]
            [quality]
            range = [1, 10]
            sweep = [5]
            [encode]
            input = "png"
            output = "bin"
            command = ["{{t}}", "encode", "{{input}}", "{{output}}"]
            [decode]
            output = "png"
            command = ["{{t}}", "decode", "{{input}}", "{{output}}"]
            """
        )
    )
    monkeypatch.setattr(CODECS, "_entries", dict(CODECS._entries))
    monkeypatch.setattr(CODECS, "_origins", dict(CODECS._origins))
    CODECS.register("rebuilt", codec_class(load_definition(definition)), origin=str(definition))
    fingerprint.forget()
    return "rebuilt", tool


def test_a_rebuilt_tool_with_the_same_version_is_measured_again(tmp_path, tool_codec):
    name, tool = tool_codec
    images = tmp_path / "images"
    images.mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(images / "a.png")

    def run():
        result = api.run(
            f"folder:{images}",
            [name],
            anchor=name,
            out=tmp_path / "out",
            store=tmp_path / "store.sqlite",
            workers=1,
            metrics=["psnr-rgb"],
            progress=False,
        )
        return result.counts, codec_key(create_codec(name))

    counts, first_key = run()
    assert counts["computed"] == 1
    counts, key = run()  # the same build: served from the store
    assert (counts["computed"], counts["cached"], key) == (0, 1, first_key)

    write_tool(tool, 2)  # rebuilt: other bytes, the same --version output
    assert "fake-tool 1.0" in create_codec(name).version()
    counts, key = run()
    assert key != first_key
    assert (counts["computed"], counts["cached"]) == (1, 0)


def test_the_digest_is_hashed_once_per_file_identity(tool_codec, monkeypatch):
    name, tool = tool_codec
    hashed: list[str] = []
    real = fingerprint.file_sha256
    monkeypatch.setattr(fingerprint, "file_sha256", lambda path: hashed.append(path) or real(path))

    codec = create_codec(name)
    first = codec.version()
    assert hashed == [str(tool.resolve())]
    for _ in range(3):  # every job asks: a stat each time, no hash
        assert codec.version() == first
    assert len(hashed) == 1

    fingerprint.forget()  # a fresh process: the digest comes from LICBENCH_HOME's cache
    assert create_codec(name).version() == first
    assert len(hashed) == 1
    assert fingerprint.cache_file().is_file()

    write_tool(tool, 2)  # changed: hashed again, a new version
    assert codec.version() != first
    assert len(hashed) == 2


def test_a_file_put_back_with_its_old_mtime_is_still_hashed_again(tool_codec):
    """``cp -p`` or ``tar -x`` restore mtime; the ctime of the rewritten file still moves."""
    name, tool = tool_codec
    first = create_codec(name).version()
    stat = tool.stat()
    script = tool.read_text().replace("# build 1", "# build 9")  # the same size
    tool.write_text(script)
    os.utime(tool, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert tool.stat().st_size == stat.st_size and tool.stat().st_mtime_ns == stat.st_mtime_ns
    assert create_codec(name).version() != first


def test_an_unwritable_cache_still_gives_the_digest(tool_codec, monkeypatch, tmp_path):
    name, tool = tool_codec
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where LICBENCH_HOME should be a folder")
    monkeypatch.setenv("LICBENCH_HOME", str(blocked))
    version = create_codec(name).version()
    assert f"t.sha256={fingerprint.file_sha256(tool)[:16]}" in version
