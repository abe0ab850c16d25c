"""psnr-y by hand; lpips-alex against the lpips package, with a planted backbone; fetch-weights.

The official AlexNet weights cannot be downloaded here. The computation is tested with a randomly
initialised torchvision AlexNet saved under the official file name in a temporary TORCH_HOME:
its sha256 cannot start with the official prefix, so these tests use the one explicit way to
skip the hash check, ``LPIPSAlex(verify_hash=False)``; the check itself is tested separately.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from licbench.metrics import METRICS, metric_availability
from licbench.metrics import lpips as lp
from licbench.metrics.psnr import psnr_y


def test_psnr_y_by_hand():
    original = np.zeros((2, 2, 3), np.uint8)
    decoded = original.copy()
    decoded[0, 0] = (10, 0, 0)  # luma differs by 2.126 in one of four pixels
    mse = 2.126**2 / 4
    assert psnr_y(original, decoded) == pytest.approx(10 * math.log10(255**2 / mse), abs=1e-12)
    same = np.full((1, 1, 3), 100, np.uint8)
    assert psnr_y(same, same) == math.inf
    with pytest.raises(ValueError, match="shape"):
        psnr_y(same, original)
    metric = METRICS.get("psnr-y")
    assert metric.higher_is_better and metric.unit == "dB"


def test_lpips_metric_is_registered_lower_is_better_and_off_by_default():
    from licbench.metrics import DEFAULT_METRICS

    metric = METRICS.get("lpips-alex")
    assert metric.higher_is_better is False
    assert "lpips-alex" not in DEFAULT_METRICS


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    home = tmp_path / "torch"
    monkeypatch.setenv("TORCH_HOME", str(home))
    return home


@pytest.fixture
def planted_backbone(empty_torch_home):
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    path = empty_torch_home / "hub" / "checkpoints" / lp.ALEXNET_FILE
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def test_unavailable_without_the_backbone_names_the_file_and_the_command(empty_torch_home):
    availability = metric_availability("lpips-alex")
    assert not availability.ok
    expected = empty_torch_home / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"
    assert str(expected) in availability.reason
    assert "licbench fetch-weights lpips" in availability.reason
    with pytest.raises(lp.WeightsError, match="fetch-weights lpips"):
        lp.LPIPSAlex()(np.zeros((64, 64, 3), np.uint8), np.zeros((64, 64, 3), np.uint8))


def test_the_official_name_and_address_agree_with_torchvision():
    from torchvision.models import AlexNet_Weights

    assert AlexNet_Weights.IMAGENET1K_V1.url.endswith("/" + lp.ALEXNET_FILE)
    assert lp.ALEXNET_FILE.split("-")[-1].split(".")[0] == lp.ALEXNET_SHA256_PREFIX


def test_a_planted_backbone_is_found_but_fails_the_hash_check(planted_backbone, rgb_image):
    assert metric_availability("lpips-alex").ok
    with pytest.raises(lp.WeightsError, match="does not start with 7be5be79"):
        lp.LPIPSAlex()(rgb_image, rgb_image)


def test_lpips_equals_the_lpips_package_with_the_same_weights(
    planted_backbone, rgb_image, monkeypatch
):
    torch = pytest.importorskip("torch")
    import lpips
    import lpips.pretrained_networks as networks
    import torchvision

    rng = np.random.default_rng(0)
    noisy = np.clip(rgb_image.astype(int) + rng.integers(-25, 26, rgb_image.shape), 0, 255)
    noisy = noisy.astype(np.uint8)
    ours = lp.LPIPSAlex(verify_hash=False)
    value = ours(rgb_image, noisy)

    # the package's own path: LPIPS() asks torchvision for a pretrained AlexNet; hand it ours
    state = torch.load(planted_backbone, weights_only=True)
    original_alexnet = torchvision.models.alexnet

    def alexnet(*args, **kwargs):
        net = original_alexnet(weights=None)
        net.load_state_dict(state)
        return net

    monkeypatch.setattr(networks.tv, "alexnet", alexnet)
    reference = lpips.LPIPS(net="alex", verbose=False)

    def tensor(image):  # the package's convention: RGB in [-1, 1]
        return torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1

    with torch.no_grad():
        expected = float(reference(tensor(rgb_image), tensor(noisy)))
    assert value == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert value > 0
    assert ours(rgb_image, rgb_image) == pytest.approx(0.0, abs=1e-7)
    assert ours(rgb_image, noisy) == value  # cached network, same answer


def test_run_refuses_lpips_without_weights(empty_torch_home, tmp_path, image_folder, capsys):
    from licbench.cli import main

    status = main(
        [
            "run",
            "--dataset",
            f"folder:{image_folder}",
            "--codecs",
            "jpeg",
            "--metrics",
            "psnr-rgb,ms-ssim-rgb,lpips-alex",
            "--out",
            str(tmp_path / "out"),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--no-progress",
        ]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "lpips-alex" in err and "fetch-weights lpips" in err and lp.ALEXNET_FILE in err


def test_run_computes_lpips_when_the_weights_are_there(
    planted_backbone, tmp_path, image_folder, monkeypatch
):
    import json

    from licbench.cli import main

    # the planted file is random: skip the hash check explicitly for this test's metric
    monkeypatch.setattr(lp, "DEFAULT", lp.LPIPSAlex(verify_hash=False))
    out = tmp_path / "out"
    status = main(
        [
            "run",
            "--dataset",
            f"folder:{image_folder}",
            "--codecs",
            "jpeg",
            "--qualities",
            "20,50,80",
            "--metrics",
            "psnr-rgb,lpips-alex",
            "--out",
            str(out),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    values = summary["codecs"]["jpeg"]["results"]["lpips-alex"]
    assert len(values) == 3 and all(v >= 0 for v in values)


def test_fetch_weights_checks_the_sha256_prefix(tmp_path):
    payload = b"not really alexnet" * 1000
    source = tmp_path / "alexnet.pth"
    source.write_bytes(payload)
    target = tmp_path / "hub" / "checkpoints" / lp.ALEXNET_FILE
    # the official prefix does not match: nothing is saved under the official name
    with pytest.raises(lp.WeightsError, match="does not start with 7be5be79"):
        lp.fetch_weights(url=source.as_uri(), destination=target)
    assert not target.exists() and list(target.parent.iterdir()) == []
    # a matching prefix is saved, and a second call keeps the file
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    messages: list[str] = []
    path = lp.fetch_weights(
        url=source.as_uri(), destination=target, sha256_prefix=prefix, report=messages.append
    )
    assert path == target and target.read_bytes() == payload
    lp.fetch_weights(url="file:///nonexistent", destination=target, sha256_prefix=prefix)
    assert "saved" in messages[-1]


def test_fetch_weights_command_exists():
    from licbench.cli import build_parser

    args = build_parser().parse_args(["fetch-weights", "lpips"])
    assert args.command == "fetch-weights" and args.name == "lpips"
