"""A decoded picture of the wrong size is an error row, whatever the decoder writes (issue 20,
item 3).

The fake codecs run for real (a Python script as the tool, through the same temp files and
process handling as any tool): the encoder copies its input picture (PNG or raw 4:4:4 YUV) into
the bitstream, and the decoder writes that picture back, in the definition's output format,
either as it was or at twice its width and height (or with a second frame). A picture that is
not the original's size must fail its job, naming the file, the codec and both sizes, before
any metric: none may be cropped or padded to fit.
"""

from __future__ import annotations

import hashlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.bench.job_body import run_job
from licbench.bench.jobs import Job
from licbench.codecs import CODECS
from licbench.codecs.external import codec_class, load_definition
from licbench.datasets import ImageRef

WIDTH, HEIGHT = 32, 24

#: the tool: `encode IN OUT W H` copies a PNG, or raw 4:4:4 planes behind their size (so a
#: decoder without {width}/{height} knows it); `decode FORMAT SCALE FRAMES IN OUT` writes the
#: picture in IN in FORMAT, SCALE times as wide and high, FRAMES times
TOOL = textwrap.dedent(
    """\
    import struct, sys
    import numpy as np
    from PIL import Image

    mode = sys.argv[1]
    if mode == "--version":
        print("fake 1.0")
    elif mode == "encode":
        source, target, w, h = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        data = open(source, "rb").read()
        raw = source.endswith(".yuv")
        open(target, "wb").write(b"R" + struct.pack(">HH", w, h) + data if raw else data)
    else:
        fmt, scale, frames, source, target = sys.argv[2:7]
        scale, frames = int(scale), int(frames)
        data = open(source, "rb").read()
        if data[:1] == b"R":
            w, h = struct.unpack(">HH", data[1:5])
            planes = np.frombuffer(data[5:], np.uint8).reshape(3, h, w)
        else:
            planes = np.asarray(Image.open(source).convert("RGB")).transpose(2, 0, 1)
        planes = planes.repeat(scale, axis=1).repeat(scale, axis=2)
        _, h, w = planes.shape
        if fmt in ("png", "ppm"):
            Image.fromarray(np.ascontiguousarray(planes.transpose(1, 2, 0))).save(target)
        elif fmt == "yuv":
            open(target, "wb").write(planes.tobytes() * frames)
        else:
            header = f"YUV4MPEG2 W{w} H{h} F1:1 Ip A1:1 C444\\n".encode()
            open(target, "wb").write(header + (b"FRAME\\n" + planes.tobytes()) * frames)
    """
)


def definition(folder: Path, name: str, output: str, dims: str, scale: int, frames: int) -> Path:
    """A definition whose decoder writes ``output`` at ``scale`` times the size."""
    raw = output in ("yuv", "y4m")  # planes in and out: licbench converts RGB <-> YCbCr
    text = f"""\
        name = "{name}"
        [tools.t]
        command = "{sys.executable}"
        version = ["{{t}}", "{folder / "tool.py"}", "--version"]
        [quality]
        range = [1, 10]
        sweep = [5]
        [encode]
        input = "{"yuv" if raw else "png"}"
        output = "bin"
        command = ["{{t}}", "{folder / "tool.py"}", "encode", "{{input}}", "{{output}}",
                   "{{width}}", "{{height}}"]
        [decode]
        output = "{output}"
        command = ["{{t}}", "{folder / "tool.py"}", "decode", "{output}", "{scale}", "{frames}",
                   "{{input}}", "{{output}}"]
        [yuv]
        chroma = "444"
        dimensions = "{dims}"
        """
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def image(tmp_path: Path) -> ImageRef:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return ImageRef("photo.png", path, hashlib.sha256(path.read_bytes()).hexdigest())


@pytest.fixture
def codecs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``make(output, dims, scale, frames=1)``: a registered fake codec; its name."""
    (tmp_path / "tool.py").write_text(TOOL)
    monkeypatch.setattr(CODECS, "_entries", dict(CODECS._entries))
    monkeypatch.setattr(CODECS, "_origins", dict(CODECS._origins))

    def make(output: str, dims: str, scale: int, frames: int = 1) -> str:
        name = f"fake-{output}-{dims}-{scale}x-{frames}f"
        path = definition(tmp_path, name, output, dims, scale, frames)
        CODECS.register(name, codec_class(load_definition(path)), origin=str(path))
        return name

    return make


def run(name: str, image: ImageRef):
    return run_job(Job(name, "key-" + name, 5.0, image, ("psnr-rgb",)))


CASES = [  # (decoder output, where the size comes from)
    ("png", "prefix"),  # was cropped to the top-left and measured
    ("ppm", "prefix"),  # the same
    ("png", "stream"),
    ("ppm", "stream"),
    ("y4m", "prefix"),
    ("y4m", "stream"),
    ("yuv", "prefix"),  # raw YUV says no size: prefix only
]


@pytest.mark.parametrize(("output", "dims"), CASES)
def test_a_decoder_writing_the_right_size_is_measured(codecs, image, output, dims):
    record = run(codecs(output, dims, 1), image)
    assert record.ok, record.error
    # PNG/PPM are lossless (PSNR's cap); YUV loses only the 8-bit YCbCr truncation (43.7 dB on
    # this noise image): a picture cropped from a double-size one would be near 10 dB
    floor = 60.0 if output in ("png", "ppm") else 40.0
    assert record.metrics["psnr-rgb"] >= floor


@pytest.mark.parametrize(("output", "dims"), CASES)
def test_a_double_size_picture_is_an_error_row_naming_file_codec_and_sizes(
    codecs, image, output, dims
):
    name = codecs(output, dims, 2)
    record = run(name, image)
    assert not record.ok and record.metrics == {}
    assert record.error.startswith(f"{image.path}: {name} at quality 5 failed while decoding: ")
    if output == "yuv":  # a raw file has bytes, not a size: both counts and the expected size
        assert f"has {4 * 3 * WIDTH * HEIGHT} bytes; a {WIDTH}x{HEIGHT} 444 8-bit" in record.error
        assert f"frame has {3 * WIDTH * HEIGHT}" in record.error
    elif dims == "prefix":
        assert f"the decoder wrote a {2 * WIDTH}x{2 * HEIGHT} picture; the original is " in (
            record.error
        )
        assert f"original is {WIDTH}x{HEIGHT}" in record.error
    else:  # the picture says its size: the job's own check against the original
        assert f"decoder returned uint8 ({2 * HEIGHT}, {2 * WIDTH}, 3)" in record.error
        assert f"expected uint8 ({HEIGHT}, {WIDTH}, 3)" in record.error


@pytest.mark.parametrize("dims", ["prefix", "stream"])
def test_a_y4m_file_with_more_than_one_frame_is_an_error(codecs, image, dims):
    """The header is right but the file holds two frames: never the first one silently."""
    name = codecs("y4m", dims, 1, frames=2)
    record = run(name, image)
    assert not record.ok
    assert f"its frame data has {2 * 3 * WIDTH * HEIGHT + 6} bytes; one {WIDTH}x{HEIGHT}" in (
        record.error
    )


def test_a_raw_yuv_file_with_a_second_frame_is_an_error(codecs, image):
    record = run(codecs("yuv", "prefix", 1, frames=2), image)
    assert not record.ok
    assert f"has {2 * 3 * WIDTH * HEIGHT} bytes; a {WIDTH}x{HEIGHT} 444" in record.error
