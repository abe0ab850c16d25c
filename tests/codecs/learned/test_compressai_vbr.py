"""CompressAI's variable-rate zoo models as codecs: quality → quantisation step, as eval_model.

A ``-vbr`` model codes every rate with one set of weights at ``inputscale = 1 / step``. Quality
q in 1..8 is ``eval_model --vbr_quantstep``'s q-th default step and qualities between move
geometrically; the bytes carry the scale (container format 2), so decoding needs only them.

What must hold, against ``python -m compressai.utils.eval_model checkpoint -a ARCH -p CKPT
--vbr_quantstep ...`` on the same checkpoint and images (seeded random weights, livened so
that reconstructions use all 256 levels; N=16, M=24 so the autoregressive mbt2018-vbr stays
quick): bpp equal for every step (the strings are eval_model's, byte for byte), and eval_model's
metric on licbench's decoded image equal to its own (the reconstructions are the same pixels),
with the tolerances of ``test_compressai_eval_model``. The images are 176×168 and 168×200:
MS-SSIM needs sides of at least 161 pixels.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import licbench
from licbench.codecs import CodecSpecError, QualityError, create_codec
from licbench.codecs.learned import container, zoo
from licbench.codecs.learned.compressai_codec import CompressAICodec
from tests.codecs.learned import eval_model_runs
from tests.codecs.learned.compressai_fixtures import liven
from tests.codecs.learned.eval_model_runs import eval_model_metrics, one_thread
from tests.conftest import synthetic_image

IMAGES = {"a": (176, 168, 3), "b": (168, 200, 4)}
#: the qualities compared with eval_model: all eight defaults and one between two of them; the
#: autoregressive model (a Python loop per latent position in both) at three
QUALITIES = {
    "bmshj2018-hyperprior-vbr": (1, 2, 2.5, 3, 4, 5, 6, 7, 8),
    "mbt2018-mean-vbr": (1, 2, 2.5, 3, 4, 5, 6, 7, 8),
    "mbt2018-vbr": (1, 4.5, 8),
}


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each model's checkpoint and eval_model's numbers at its qualities' steps (run at once)."""
    root = tmp_path_factory.mktemp("vbr")
    images = {name: synthetic_image(*shape) for name, shape in IMAGES.items()}
    folder = eval_model_runs.save_images(root / "images", images)
    running = {}
    for arch, qualities in QUALITIES.items():
        torch.manual_seed(3)
        net = zoo.zoo_architecture(arch)(16, 24, **zoo.constructor_options(arch)).eval()
        net.update(force=True)
        ckpt = eval_model_runs.save_checkpoint(liven(net, images["a"]), root / f"{arch}.pth.tar")
        steps = ",".join(repr(zoo.vbr_step(q)) for q in qualities)
        out = root / f"out-{arch}"
        process = eval_model_runs.start(folder, arch, ckpt, out, "--vbr_quantstep", steps)
        running[arch] = (ckpt, out, process)
    results = {}
    for arch, (ckpt, out, process) in running.items():
        summary = eval_model_runs.finish(process)
        results[arch] = {
            "ckpt": ckpt,
            "summary": summary,  # one mean per step, in eval_model's order: scale ascending
            "last": eval_model_runs.per_image(out, ckpt, list(IMAGES)),  # the largest scale's
        }
    return {"images": images, "results": results}


@pytest.mark.parametrize("arch", list(QUALITIES))
def test_numbers_equal_eval_model_vbr_quantstep(compared: dict, arch: str) -> None:
    result = compared["results"][arch]
    codec = create_codec(f"compressai:model={arch},ckpt={result['ckpt']}")
    assert codec.qualities == (1, 2, 3, 4, 5, 6, 7, 8) and codec.quality_range == (1, 8)
    assert not codec.integer_quality
    qualities = sorted(QUALITIES[arch])  # scale ascending, as eval_model runs them
    assert len(result["summary"]["bpp"]) == len(qualities)
    bpps = []
    for index, quality in enumerate(qualities):
        bpp, psnr, msssim = [], [], []
        for name, image in sorted(compared["images"].items()):
            pixels = image.shape[0] * image.shape[1]
            with one_thread():  # eval_model's numeric setup: the same pixels
                data = codec.encode(image, quality)
                decoded = codec.decode(data)
            box = container.unpack(data)
            assert data[2] == container.SCALED_FORMAT_VERSION and box.rate_point == 1
            assert box.scale == float(torch.tensor(1 / zoo.vbr_step(quality)))
            bpp.append((len(data) - container.overhead(data)) * 8 / pixels)
            theirs = eval_model_metrics(image, decoded)
            psnr.append(theirs["psnr-rgb"])
            msssim.append(theirs["ms-ssim-rgb"])
            if quality == qualities[-1]:  # eval_model keeps per-image files of its last run
                assert bpp[-1] == result["last"][name]["bpp"]
                eval_model_runs.check_reconstruction(image, decoded, result["last"][name])
        summary = {key: values[index] for key, values in result["summary"].items()}
        # summed in eval_model's order (images by name), divided as it divides
        assert sum(bpp) / len(bpp) == summary["bpp"], quality
        assert sum(psnr) / len(psnr) == pytest.approx(summary["psnr-rgb"], abs=1e-6)
        assert sum(msssim) / len(msssim) == pytest.approx(summary["ms-ssim-rgb"], abs=1e-6)
        bpps.append(summary["bpp"])
    assert bpps == sorted(bpps) and bpps[-1] > 3 * bpps[0]  # quality is rate, across the range


def test_the_mapping_is_eval_models_default_steps() -> None:
    with one_thread():  # importing eval_model sets one thread
        from compressai.utils.eval_model.__main__ import setup_args

        args = setup_args().parse_args(["checkpoint", "x", "-a", "mbt2018-vbr", "-p", "y"])
    defaults = tuple(float(step) for step in args.vbr_quantstepsizes.split(","))
    assert zoo.VBR_QUANT_STEPS == defaults
    assert [zoo.vbr_step(q) for q in range(1, 9)] == list(defaults)
    assert zoo.vbr_step(2.5) == pytest.approx((defaults[1] * defaults[2]) ** 0.5, rel=1e-12)
    steps = [zoo.vbr_step(q / 10) for q in range(10, 81)]
    assert all(a > b for a, b in zip(steps, steps[1:], strict=False))  # more quality, finer
    for outside in (0.99, 8.01):
        with pytest.raises(zoo.ZooError, match="quality is 1..8"):
            zoo.vbr_step(outside)


def test_random_weights_decode_from_the_bytes_alone_in_a_fresh_process(tmp_path: Path) -> None:
    """weights=random: the zoo's sizes (192, 320), seeded; another process, given only the
    bytes and the spec, decodes the same pixels at any quality, the scale read from the bytes."""
    spec = "compressai:model=bmshj2018-hyperprior-vbr,weights=random,seed=1"
    codec = create_codec(spec)
    net = codec.model(1)
    assert (net.N, net.M, net.vr_entbttlnck) == (192, 320, True)  # as the zoo builds it
    assert "container=2" in codec.version() and "vbr_steps=10.0/7.1715/" in codec.version()
    image = synthetic_image(64, 80, 5)
    jobs, expected, sizes = [], {}, {}
    for quality in (8, 3.25, 1):  # out of order: the tables follow the bytes' scale
        data = codec.encode(image, quality)
        path = tmp_path / f"{quality}.bin"
        path.write_bytes(data)
        expected[quality], sizes[quality] = codec.decode(data), len(data)
        jobs.append({"data": str(path), "out": str(tmp_path / f"{quality}.npy")})
    child = (
        "import json, sys\nimport numpy as np\nfrom licbench.codecs import create_codec\n"
        "codec = create_codec(sys.argv[1])\n"
        "for job in json.loads(sys.argv[2]):\n"
        "    np.save(job['out'], codec.decode(open(job['data'], 'rb').read()))\n"
    )
    root = Path(licbench.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", child, spec, json.dumps(jobs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for quality, job in zip(expected, jobs, strict=True):
        np.testing.assert_array_equal(np.load(job["out"]), expected[quality])
    assert sizes[8] > sizes[3.25] > sizes[1]  # (untrained: the pixels barely change)


def test_published_weights_load_through_compressais_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """weights=pretrained reads the zoo's one file (under its URL's name, in the torch hub
    cache) through CompressAI's own loader, as ``eval_model pretrained`` does."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    name = "mbt2018-mean-vbr"
    assert not CompressAICodec.available_for({"model": name}).ok
    with pytest.raises(CodecSpecError, match="mbt2018-mean-mse-vbr-45d095e9.pth.tar"):
        create_codec(f"compressai:model={name}")
    folder = zoo.hub_checkpoint_dir()
    folder.mkdir(parents=True)
    torch.manual_seed(2)
    saved = zoo.build_random(name, 1)  # before update(): tables empty, as published
    torch.save(saved.state_dict(), folder / os.path.basename(zoo.weight_urls(name, "mse")[1]))
    codec = create_codec(f"compressai:model={name}")
    assert codec.qualities == (1, 2, 3, 4, 5, 6, 7, 8)
    assert codec.weights_identity().startswith("1:") and "metric=mse" in codec.version()
    assert torch.equal(codec.model(5).g_a[0].weight, saved.g_a[0].weight)
    image = synthetic_image(64, 64, 6)
    assert codec.decode(codec.encode(image, 5.5)).shape == image.shape


def test_what_a_variable_rate_codec_refuses(tmp_path: Path) -> None:
    codec = create_codec("compressai:model=bmshj2018-hyperprior-vbr,weights=random")
    for outside in (0.5, 8.5):
        with pytest.raises(QualityError, match="outside 1–8"):
            codec.check_quality(outside)
    assert codec.check_quality(6.75) == 6.75
    box = container.unpack(codec.encode(synthetic_image(64, 64, 7), 2))
    unscaled = container.pack(dataclasses.replace(box, scale=None))
    with pytest.raises(container.ContainerError, match="made by a single-rate model"):
        codec.decode(unscaled)
    for name in ("a.pth.tar", "b.pth.tar"):
        torch.save({}, tmp_path / name)
    with pytest.raises(CodecSpecError, match="one checkpoint codes every rate, but .* holds 2"):
        create_codec(f"compressai:model=mbt2018-vbr,ckpt={tmp_path}")


def test_container_format_2_layout_and_format_1_unchanged() -> None:
    fields = dict(
        model="m", weights_tag=bytes(range(8)), rate_point=1, height=45, width=70,
        pad_multiple=64, shape=(2, 3), strings=[[b"y"], [b"z"]],
    )  # fmt: skip
    single = container.pack(container.Container(**fields))
    scaled = container.pack(container.Container(**fields, scale=0.13944000005722046))
    assert single[:4] == b"LZ\x01\x01"
    # the scale's four float32 bytes after the rate point, the rest as format 1 writes it
    assert scaled == b"LZ\x02\x01" + struct.pack("<f", 0.13944) + single[4:]
    assert container.unpack(scaled).scale == float(np.float32(0.13944))
    assert container.unpack(single).scale is None
    assert container.overhead(scaled) == container.overhead(single) + 4
    with pytest.raises(ValueError, match="positive float32"):
        container.pack(container.Container(**fields, scale=0.1))  # not a float32 value
