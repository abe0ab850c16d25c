"""bpg and vtm run the commands of CompressAI's bench (test_anchor_tools.py runs the real tools).

Both sides run with the tool execution replaced at the subprocess boundary only: licbench's
``subprocess.run`` and CompressAI's ``run_command`` record the argument lists and write what the
tool would write. Everything else (temp files, YUV conversion, reading the output) is real.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from licbench.codecs import codec_info, create_codec

bench = pytest.importorskip("compressai.utils.bench.codecs")

BITSTREAM = b"\x00\x00\x01fake-bitstream" * 7


def _value_after(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def _normalise(argv: list[object], paths: dict[str, str]) -> list[str]:
    """Replace temp paths by their role, so two runs with different temp files compare."""
    return [paths.get(str(a), str(a)) for a in argv]


@pytest.fixture
def compressai_commands(monkeypatch):
    """Run CompressAI's bench codecs with run_command recording and faking the tools."""
    calls: list[list[str]] = []
    actions: list = []

    def run_command(cmd, ignore_returncodes=None):
        cmd = [str(c) for c in cmd]
        calls.append(cmd)
        for match, action in actions:
            if match(cmd):
                action(cmd)
                return ""
        raise AssertionError(f"unexpected command {cmd}")

    monkeypatch.setattr(bench, "run_command", run_command)
    return calls, actions


# ------------------------------------------------------------------------------------------- BPG


def test_bpg_is_unavailable_without_its_tools_and_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    info = codec_info("bpg")
    assert not info.availability.ok
    assert "bpgenc not found" in info.availability.reason
    assert "libbpg" in info.availability.hint
    codec = create_codec("bpg")  # creating it is fine; running it says why not
    with pytest.raises(RuntimeError, match="bpg is unavailable: bpgenc not found"):
        codec.encode(np.zeros((8, 8, 3), np.uint8), 20)


def test_bpg_commands_are_compressai_benchs(
    fake_bin, fake_run, compressai_commands, rgb_image, tmp_path, private_tmp
):
    bin_dir = fake_bin("bpgenc", "bpgdec")
    decoded = np.random.default_rng(3).integers(0, 256, rgb_image.shape, dtype=np.uint8)
    seen_inputs: list[np.ndarray] = []

    def write_bitstream(argv):
        seen_inputs.append(np.asarray(Image.open(argv[-1]).convert("RGB")))
        Path(_value_after(argv, "-o")).write_bytes(BITSTREAM)

    def write_png(argv):
        assert Path(argv[-1]).read_bytes() == BITSTREAM
        Image.fromarray(decoded).save(_value_after(argv, "-o"), format="PNG")

    version = "BPG Image Encoder version 0.9.8\nusage: bpgenc [options] infile.[jpg|png]\n"
    fake_run.on(lambda a: a[1:] == ["-h"], lambda a: (1, version.replace("Encoder", "Decoder")))
    fake_run.on(lambda a: a[0].endswith("bpgenc"), write_bitstream)
    fake_run.on(lambda a: a[0].endswith("bpgdec"), write_png)
    calls, actions = compressai_commands
    actions.append((lambda c: c[0] == "bpgenc", write_bitstream))
    actions.append((lambda c: c[0] == "bpgdec", write_png))

    codec = create_codec("bpg")
    assert codec.available().ok
    assert "bpgenc=0.9.8" in codec.version() and "bpgdec=0.9.8" in codec.version()
    assert codec.quality_range == (0, 51) and codec.qualities[0] == 4  # QP 47 = quality 4

    args = argparse.Namespace(
        m="444", b="8", c="ycbcr", e="x265", encoder_path="bpgenc", decoder_path="bpgdec"
    )
    theirs = bench.BPG(args)
    source = tmp_path / "image.png"
    Image.fromarray(rgb_image).save(source)

    for qp in (22, 37):
        fake_run.calls.clear()
        calls.clear()
        data = codec.encode(rgb_image, 51 - qp)
        reconstruction = codec.decode(data)
        ours_enc, ours_dec = (c for c in fake_run.calls if c[1:] != ["-h"])
        info, rec = theirs._run_impl(str(source), qp)
        their_enc, their_dec = calls

        assert data == BITSTREAM  # the bitstream file, nothing added
        assert np.array_equal(seen_inputs[0], rgb_image)  # the encoder read the exact pixels
        assert np.array_equal(seen_inputs[0], seen_inputs[-1])
        assert ours_enc[0] == str(bin_dir / "bpgenc") and ours_dec[0] == str(bin_dir / "bpgdec")
        ours = {_value_after(ours_enc, "-o"): "BITSTREAM", ours_enc[-1]: "INPUT.png"}
        mine = {_value_after(their_enc, "-o"): "BITSTREAM", their_enc[-1]: "INPUT.png"}
        assert _normalise(ours_enc[1:], ours) == _normalise(their_enc[1:], mine)
        assert _normalise(ours_enc[1:], ours) == [
            "-o", "BITSTREAM", "-q", str(qp), "-f", "444", "-e", "x265", "-c", "ycbcr", "-b", "8",
            "INPUT.png",
        ]  # fmt: skip
        ours = {ours_dec[-1]: "BITSTREAM", _value_after(ours_dec, "-o"): "OUT.png"}
        mine = {their_dec[-1]: "BITSTREAM", _value_after(their_dec, "-o"): "OUT.png"}
        assert _normalise(ours_dec[1:], ours) == _normalise(their_dec[1:], mine)
        assert np.array_equal(reconstruction, decoded)
        assert np.array_equal(np.asarray(rec), decoded)
        assert 8 * len(data) / (rgb_image.shape[0] * rgb_image.shape[1]) == pytest.approx(
            info["bpp"]
        )
    assert list(private_tmp.iterdir()) == []  # every temp file removed


# ------------------------------------------------------------------------------------------- VTM


@pytest.fixture
def vtm_config(tmp_path):
    path = tmp_path / "encoder_intra_vtm.cfg"
    path.write_text("#======== intra ========\nIntraPeriod : 1\n")
    return path


def test_vtm_needs_an_intra_config(fake_bin, monkeypatch, vtm_config):
    from licbench.codecs.base import CodecSpecError

    monkeypatch.delenv("LICBENCH_VTM_CONFIG", raising=False)
    bin_dir = fake_bin("EncoderAppStatic", "DecoderAppStatic")  # no cfg beside them
    with pytest.raises(CodecSpecError, match="vtm needs config=.*LICBENCH_VTM_CONFIG") as caught:
        create_codec("vtm")
    assert f"none found at {bin_dir.parent / 'cfg' / 'encoder_intra_vtm.cfg'}, " in str(
        caught.value
    )
    with pytest.raises(CodecSpecError, match="no such file"):
        create_codec("vtm:config=/nonexistent/intra.cfg")
    monkeypatch.setenv("LICBENCH_VTM_CONFIG", str(vtm_config))
    assert create_codec("vtm").params["config"] == str(vtm_config.resolve())


def test_vtm_finds_its_intra_config_beside_the_encoder(fake_bin, monkeypatch, tmp_path):
    from licbench.codecs import CODECS

    monkeypatch.delenv("LICBENCH_VTM_CONFIG", raising=False)
    fake_bin("EncoderAppStatic", "DecoderAppStatic")  # in tmp_path/bin, on PATH
    # build-tools.sh's PREFIX: bin/ and share/vtm/cfg/
    installed = tmp_path / "share" / "vtm" / "cfg" / "encoder_intra_vtm.cfg"
    installed.parent.mkdir(parents=True)
    installed.write_text("IntraPeriod : 1\n")
    assert create_codec("vtm").params["config"] == str(installed)
    # a VTM checkout: bin/ and cfg/ side by side (tried first)
    checkout = tmp_path / "cfg" / "encoder_intra_vtm.cfg"
    checkout.parent.mkdir()
    checkout.write_text("IntraPeriod : 1\n")
    assert create_codec("vtm").params["config"] == str(checkout)
    # config= and the environment variable come first
    other = tmp_path / "mine.cfg"
    other.write_text("IntraPeriod : 1\n")
    assert create_codec(f"vtm:config={other}").params["config"] == str(other)
    monkeypatch.setenv("LICBENCH_VTM_CONFIG", str(other))
    assert create_codec("vtm").params["config"] == str(other)
    monkeypatch.delenv("LICBENCH_VTM_CONFIG")
    # an encoder linked onto PATH from its build tree: found through the link's target
    linked = tmp_path / "linked"
    linked.mkdir()
    for tool in ("EncoderAppStatic", "DecoderAppStatic"):
        (linked / tool).symlink_to(tmp_path / "bin" / tool)
    monkeypatch.setenv("PATH", str(linked))
    CODECS.get("vtm").clear_cache()
    assert create_codec("vtm").params["config"] == str(checkout)


def test_vtm_commands_yuv_and_reconstruction_are_compressai_benchs(
    fake_bin, fake_run, compressai_commands, rgb_image, tmp_path, vtm_config, private_tmp
):
    bin_dir = fake_bin("EncoderAppStatic", "DecoderAppStatic")
    height, width = rgb_image.shape[:2]
    decoded_yuv = np.random.default_rng(4).integers(0, 256, 3 * height * width, dtype=np.uint8)
    encoder_inputs: list[bytes] = []

    def encode(argv):
        encoder_inputs.append(Path(_value_after(argv, "-i")).read_bytes())
        Path(_value_after(argv, "-b")).write_bytes(BITSTREAM)

    def decode(argv):
        assert Path(_value_after(argv, "-b")).read_bytes() == BITSTREAM
        Path(_value_after(argv, "-o")).write_bytes(decoded_yuv.tobytes())

    banner = "VVCSoftware: VTM {} Version 12.1 [Linux][GCC 9.4.0][64 bit] [SIMD=AVX2]\n"
    fake_run.on(
        lambda a: a[1:] == ["--help"] and "Encoder" in a[0],
        lambda a: (1, banner.format("Encoder")),
    )
    fake_run.on(
        lambda a: a[1:] == ["--help"] and "Decoder" in a[0],
        lambda a: (1, banner.format("Decoder")),
    )
    fake_run.on(lambda a: a[0].endswith("EncoderAppStatic"), encode)
    fake_run.on(lambda a: a[0].endswith("DecoderAppStatic"), decode)
    calls, actions = compressai_commands
    actions.append((lambda c: c[0].endswith("EncoderAppStatic"), encode))
    actions.append((lambda c: c[0].endswith("DecoderAppStatic"), decode))

    codec = create_codec(f"vtm:config={vtm_config}")
    version = codec.version()
    assert "encoder=12.1" in version and "decoder=12.1" in version
    assert "config.sha256=" in version  # a changed config file changes the cache key
    # the file by name and contents; where it is installed changes no output (environment())
    assert "config=encoder_intra_vtm.cfg;" in version and str(tmp_path) not in version
    assert codec.environment()["file.config"] == str(vtm_config.resolve())
    assert "chroma=444" in version
    args = argparse.Namespace(build_dir=str(bin_dir), config=str(vtm_config), rgb=False)
    theirs = bench.VTM(args)
    source = tmp_path / "image.png"
    Image.fromarray(rgb_image).save(source)

    for qp in (22, 37):
        fake_run.calls.clear()
        calls.clear()
        encoder_inputs.clear()
        data = codec.encode(rgb_image, 63 - qp)
        reconstruction = codec.decode(data)
        ours_enc, ours_dec = (c for c in fake_run.calls if c[1:] != ["--help"])
        info, rec = theirs._run_impl(str(source), qp)
        their_enc, their_dec = calls

        # the 4-byte size prefix (width, height) and then the bitstream, byte for byte
        assert data[:4] == width.to_bytes(2, "big") + height.to_bytes(2, "big")
        assert data[4:] == BITSTREAM
        # the same YCbCr 4:4:4 8-bit file went into the encoder
        assert encoder_inputs[0] == encoder_inputs[1]
        assert len(encoder_inputs[0]) == 3 * height * width
        # the same argument lists, up to temp paths
        ours = {_value_after(ours_enc, "-i"): "IN.yuv", _value_after(ours_enc, "-b"): "OUT.bin"}
        mine = {_value_after(their_enc, "-i"): "IN.yuv", _value_after(their_enc, "-b"): "OUT.bin"}
        assert ours_enc[0] == their_enc[0] == str(bin_dir / "EncoderAppStatic")
        assert _normalise(ours_enc, ours) == _normalise(their_enc, mine)
        assert _normalise(ours_enc[1:], ours) == [
            "-i", "IN.yuv", "-c", str(vtm_config.resolve()), "-q", str(qp), "-o", "/dev/null",
            "-b", "OUT.bin", "-wdt", str(width), "-hgt", str(height), "-fr", "1", "-f", "1",
            "--InputChromaFormat=444", "--InputBitDepth=8", "--ConformanceWindowMode=1",
        ]  # fmt: skip
        ours = {_value_after(ours_dec, "-b"): "IN.bin", _value_after(ours_dec, "-o"): "OUT.yuv"}
        mine = {_value_after(their_dec, "-b"): "IN.bin", _value_after(their_dec, "-o"): "OUT.yuv"}
        assert _normalise(ours_dec, ours) == _normalise(their_dec, mine)
        # the same reconstruction from the same decoder output, bit for bit
        assert np.array_equal(reconstruction, np.asarray(rec))
        assert 8 * len(data[4:]) / (height * width) == pytest.approx(info["bpp"])
    assert list(private_tmp.iterdir()) == []


def test_vtm_420_codes_subsampled_chroma_and_has_its_own_key(
    fake_bin, fake_run, rgb_image, vtm_config, private_tmp
):
    from licbench.bench.jobs import codec_key

    fake_bin("EncoderAppStatic", "DecoderAppStatic")
    image = np.ascontiguousarray(rgb_image[:175, :199])  # odd sides: padded to 200x176
    inputs: list[bytes] = []

    def encode(argv):
        inputs.append(Path(_value_after(argv, "-i")).read_bytes())
        Path(_value_after(argv, "-b")).write_bytes(BITSTREAM)

    def decode(argv):  # what VTM writes: the coded 4:2:0 frame, the encoder's input here
        Path(_value_after(argv, "-o")).write_bytes(inputs[-1])

    banner = "VVCSoftware: VTM Encoder Version 18.0 [Linux]\nVTM Decoder Version 18.0\n"
    fake_run.on(lambda a: a[1:] == ["--help"], lambda a: (1, banner))
    fake_run.on(lambda a: a[0].endswith("EncoderAppStatic"), encode)
    fake_run.on(lambda a: a[0].endswith("DecoderAppStatic"), decode)

    codec = create_codec(f"vtm:config={vtm_config},chroma=420")
    data = codec.encode(image, 63 - 32)
    encode_argv = next(c for c in fake_run.calls if c[0].endswith("EncoderAppStatic") and "-i" in c)
    assert "--InputChromaFormat=420" in encode_argv
    assert _value_after(encode_argv, "-wdt") == "200" and _value_after(encode_argv, "-hgt") == "176"
    assert len(inputs[0]) == 200 * 176 + 2 * 100 * 88  # Y, then quarter-size Cb and Cr
    assert data[:4] == (199).to_bytes(2, "big") + (175).to_bytes(2, "big")
    decoded = codec.decode(data)
    assert decoded.shape == image.shape
    # only the chroma subsampling (and 8-bit YCbCr) between the two: a smooth image survives
    from licbench.metrics.psnr import psnr_rgb

    assert psnr_rgb(image, decoded) > 28
    full = create_codec(f"vtm:config={vtm_config}")
    assert "chroma=420" in codec.version() and "chroma=444" in full.version()
    assert codec_key(codec) != codec_key(full)
    assert list(private_tmp.iterdir()) == []


def test_vtm_and_bpg_quality_mapping(fake_bin, vtm_config):
    vtm = create_codec(f"vtm:config={vtm_config}")
    assert vtm.tool_quality(63 - 32) == 32
    # its time limits: a tool run on the 2-MP CLIC image that took 1,489 s at QP 12 on a loaded
    # machine (README, BPG and VTM) gets over four times that; a job, its encode and decode
    limit = vtm.definition.tool_timeout(2048 * 972)
    assert limit > 4 * 1489 and vtm.time_limit(2048, 972) == pytest.approx(2 * limit)
    assert vtm.time_limit(768, 512) > 600  # above --timeout's default on Kodak too
    assert "qp = 63 − q" in vtm.description
    with pytest.raises(ValueError, match="outside"):
        vtm.tool_quality(64)
    with pytest.raises(ValueError, match="integer"):
        vtm.tool_quality(10.5)
    bpg = create_codec("bpg")
    assert sorted(51 - q for q in bpg.qualities) == [12, 17, 22, 27, 32, 37, 42, 47]


def test_a_failing_tool_names_the_command_and_cleans_up(fake_bin, fake_run, private_tmp):
    fake_bin("bpgenc", "bpgdec")
    fake_run.on(lambda a: True, lambda a: (1, "bpgenc: could not open input"))
    codec = create_codec("bpg")
    with pytest.raises(RuntimeError, match=r"bpgenc -o .* exited with status 1: bpgenc: could not"):
        codec.encode(np.zeros((16, 16, 3), np.uint8), 20)
    assert list(private_tmp.iterdir()) == []


def test_png_written_for_the_tool_is_lossless(rgb_image, tmp_path):
    from licbench.codecs.external import pictures

    for fmt in ("png", "ppm"):
        path = tmp_path / f"x.{fmt}"
        pictures.write_image(path, rgb_image, fmt)
        assert np.array_equal(pictures.read_image(path), rgb_image)
    buffer = io.BytesIO()
    Image.fromarray(rgb_image).convert("L").save(buffer, "PNG")
    (tmp_path / "grey.png").write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match="expected 8-bit RGB"):
        pictures.read_image(tmp_path / "grey.png")
