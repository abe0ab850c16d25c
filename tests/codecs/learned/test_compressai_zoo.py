"""The ``compressai`` codec with zoo models: spec, qualities, cached weights, fetch, refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

from licbench.codecs import CodecSpecError, codec_info, create_codec
from licbench.codecs.learned import container, zoo
from licbench.codecs.learned.compressai_codec import CodecUnavailableError, CompressAICodec
from licbench.core.files import file_sha256
from tests.codecs.learned.compressai_fixtures import liven
from tests.conftest import synthetic_image


@pytest.fixture
def torch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache: the zoo's weights are wherever this test puts them."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def fake_zoo_cache(folder: Path, name: str = "bmshj2018-factorized", metric: str = "mse") -> Path:
    """Random weights under the zoo's file names: CompressAI's loader reads them as its own."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1)
    source = folder / "random.pth"
    torch.save(zoo.build_random(name, 1).state_dict(), source)
    for url in zoo.weight_urls(name, metric).values():
        os.symlink(source, folder / os.path.basename(url))
    return source


def test_listing_imports_neither_torch_nor_compressai_and_warns_nothing() -> None:
    code = (
        "import sys, warnings; warnings.simplefilter('error')\n"
        "from licbench.codecs import codec_info\n"
        "info = codec_info('compressai')\n"
        "assert info.availability.ok, info\n"
        "assert 'torch' not in sys.modules and 'compressai' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "model=" in codec_info("compressai").description


def test_needs_a_model_so_stays_out_of_the_default_run() -> None:
    from licbench.api import default_codecs

    with pytest.raises(CodecSpecError, match="compressai needs model="):
        create_codec("compressai")
    assert "compressai" not in {spec.name for spec in default_codecs()}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("compressai:model=mbt2018-men", "did you mean mbt2018-mean, mbt2018"),
        ("compressai:model=mbt2018-vbr,metric=ms-ssim", "publishes no ms-ssim weights"),
        ("compressai:model=mbt2018,metric=psnr", "metric='psnr'; choose from mse, ms-ssim"),
        ("compressai:model=mbt2018,weights=trained", "weights='trained'"),
        ("compressai:model=mbt2018,quality=3", "unknown parameter"),
        ("compressai:model=mbt2018,weights=random,device=tpu", "device='tpu'"),
        ("compressai:model=mbt2018,weights=random,seed=x", "seed='x' is not an integer"),
        ("compressai:model=mbt2018,weights=random,ckpt=a.pt", "not both"),
        ("compressai:model=mbt2018,ckpt=/nonexistent", "no such file or folder"),
        ("compressai:model=mbt2018,weights=random,metric=mse", "with weights=random it would"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(CodecSpecError, match=message.replace("(", r"\(")):
        create_codec(spec)


def test_qualities_are_the_zoo_indices() -> None:
    expected = {"bmshj2018-factorized": 8, "mbt2018-mean": 8, "mbt2018": 8, "cheng2020-attn": 6}
    for name, count in expected.items():
        codec = create_codec(f"compressai:model={name},weights=random")
        assert codec.qualities == tuple(range(1, count + 1))
        assert codec.quality_range == (1, count)
    assert set(zoo.zoo_models()) == {
        "bmshj2018-factorized",
        "bmshj2018-factorized-relu",
        "bmshj2018-hyperprior",
        "mbt2018-mean",
        "mbt2018",
        "cheng2020-anchor",
        "cheng2020-attn",
    }


def test_without_cached_weights_unavailable_with_what_to_copy_where(torch_home: Path) -> None:
    with pytest.raises(CodecUnavailableError) as caught:
        create_codec("compressai:model=mbt2018-mean,metric=ms-ssim")
    reason = caught.value.availability.reason
    assert not caught.value.availability.ok
    assert f"no cached weights for compressai mbt2018-mean (ms-ssim) in {torch_home}" in reason
    assert "licbench fetch-weights compressai" in reason
    assert "mbt2018-mean-ms-ssim-1-5bf9c0b6.pth.tar" in reason
    assert "mbt2018-mean-ms-ssim-8-0cc7b94f.pth.tar" in reason
    with pytest.raises(CodecUnavailableError, match="publishes no mse weights"):
        create_codec("compressai:model=bmshj2018-factorized-relu")
    # the same answer for a spec without building the codec
    for_spec = CompressAICodec.available_for({"model": "mbt2018-mean", "metric": "ms-ssim"})
    assert for_spec == caught.value.availability
    assert CompressAICodec.available_for({"model": "mbt2018-mean", "weights": "random"}).ok


def test_cached_zoo_weights_load_through_compressais_loader(torch_home: Path) -> None:
    source = fake_zoo_cache(torch_home)
    assert CompressAICodec.available_for({"model": "bmshj2018-factorized"}).ok
    codec = create_codec("compressai:model=bmshj2018-factorized")
    assert codec.qualities == tuple(range(1, 9))
    sha = file_sha256(source)
    version = codec.version()
    assert "compressai=1.2.8" in version and "metric=mse" in version
    assert f"weights=1:{sha}," in version and version.endswith(f"8:{sha}")
    image = synthetic_image(48, 80, 2)
    data = codec.encode(image, 2)
    box = container.unpack(data)
    assert (box.model, box.rate_point) == ("bmshj2018-factorized", 2)
    assert box.weights_tag == bytes.fromhex(sha)[:8]
    expected = torch.load(source, weights_only=True)
    assert torch.equal(codec.model(2).g_a[0].weight, expected["g_a.0.weight"])
    assert codec.decode(data).shape == (48, 80, 3)
    # the other metric's files are not there
    with pytest.raises(CodecUnavailableError, match="ms-ssim"):
        create_codec("compressai:model=bmshj2018-factorized,metric=ms-ssim")
    (torch_home / "bmshj2018-factorized-prior-5-866ba797.pth.tar").unlink()
    with pytest.raises(CodecUnavailableError, match=r"1 file\(s\) missing.*prior-5-866ba797"):
        create_codec("compressai:model=bmshj2018-factorized")


def test_fetch_offline_fails_at_once_naming_files_and_folder(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_zoo_cache(torch_home)
    (torch_home / "bmshj2018-factorized-prior-8-5232faa3.pth.tar").unlink()
    calls: list[str] = []

    def offline(url: str, **kwargs: object) -> None:
        calls.append(url)
        raise URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(zoo.compressai_zoo(), "load_state_dict_from_url", offline)
    lines: list[str] = []
    with pytest.raises(zoo.WeightsFetchError) as caught:
        zoo.fetch_zoo_weights(["bmshj2018-factorized", "mbt2018-mean"], ["mse"], lines.append)
    message = str(caught.value)
    assert "\n" not in message
    assert len(calls) == 1 and calls[0].endswith("bmshj2018-factorized-prior-8-5232faa3.pth.tar")
    assert f"into {torch_home}:" in message
    assert "copy these 9 file(s) from https://compressai.s3.amazonaws.com/models/v1/" in message
    assert "prior-8-5232faa3.pth.tar, mbt2018-mean-1-e522738d.pth.tar" in message
    assert lines[0] == "have bmshj2018-factorized-prior-1-446d5c7f.pth.tar" and len(lines) == 8


def test_fetch_downloads_through_the_zoo_loader(
    torch_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(0)
    state = zoo.build_random("bmshj2018-factorized", 1).state_dict()

    def download(url: str, progress: bool = True, **kwargs: object) -> dict:
        torch_home.mkdir(parents=True, exist_ok=True)
        torch.save(state, torch_home / os.path.basename(url))
        return state

    monkeypatch.setattr(zoo.compressai_zoo(), "load_state_dict_from_url", download)
    lines: list[str] = []
    names = ["bmshj2018-factorized-relu", "bmshj2018-factorized"]
    files = zoo.fetch_zoo_weights(names, ["mse"], report=lines.append)
    assert lines[0] == "compressai 1.2.8 publishes no mse weights for bmshj2018-factorized-relu"
    assert lines[1].startswith("fetching bmshj2018-factorized mse quality 1 -> ")
    assert lines[-1] == f"8 CompressAI weight file(s) in {torch_home}"
    assert [p.name for p in files] == [
        os.path.basename(u) for u in zoo.weight_urls("bmshj2018-factorized", "mse").values()
    ]
    assert all(p.is_file() for p in files)
    assert create_codec("compressai:model=bmshj2018-factorized").qualities == tuple(range(1, 9))


def test_random_weights_are_seeded_and_bytes_decode_only_with_their_weights() -> None:
    image = synthetic_image(40, 72, 5)
    one = create_codec("compressai:model=mbt2018-mean,weights=random,seed=1")
    again = create_codec("compressai:model=mbt2018-mean,weights=random,seed=1")
    liven(one.model(3), image)
    liven(again.model(3), image)
    data = one.encode(image, 3)
    assert again.encode(image, 3) == data
    decoded = again.decode(data)
    assert decoded.shape == image.shape and np.unique(decoded).size > 100
    assert one.version().endswith("weights=random-seed1")
    other = create_codec("compressai:model=mbt2018-mean,weights=random,seed=2")
    with pytest.raises(container.ContainerError, match="made with other weights"):
        other.decode(data)
    with pytest.raises(container.ContainerError, match="made by model mbt2018-mean, not mbt2018"):
        create_codec("compressai:model=mbt2018,weights=random").decode(data)
    with pytest.raises(ValueError, match="quality 9 is not one of"):
        one.encode(image, 9)


def test_cheng2020_round_trip_with_random_weights() -> None:
    codec = CompressAICodec(model="cheng2020-anchor", weights="random")
    image = synthetic_image(30, 50, 6)
    data = codec.encode(image, 1)
    assert container.unpack(data).shape == (1, 1)  # z of a 64x64 padded image: stride 64
    assert codec.decode(data).shape == (30, 50, 3)
