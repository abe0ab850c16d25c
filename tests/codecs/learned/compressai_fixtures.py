"""Helpers for the ``compressai`` codec tests: livened random zoo models and a user's package.

Random CompressAI models decode to a few saturated grey levels, which would hide rounding
differences; :func:`liven` rescales the last analysis layer (latents with a standard deviation
of a few units, as a trained model's) and the last synthesis layer (reconstructions spread
around mid-grey), so reconstructions use all 256 levels and the strings are not trivial.

:func:`write_user_package` writes what a user of licbench would have: a package with their own
CompressAI-API model and a codec plugin registered through the ``licbench.codecs`` entry-point
group (a ``.dist-info`` folder is what ``pip install`` leaves behind).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


@torch.no_grad()
def liven(net: torch.nn.Module, image: np.ndarray) -> torch.nn.Module:
    """Rescale ``net`` (a bmshj2018 / mbt2018-mean model) in place; tables rebuilt."""
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))).float()[None] / 255
    h, w = image.shape[:2]
    x = F.pad(x, (0, -w % 64, 0, -h % 64))
    last_a, last_s = net.g_a[-1], net.g_s[-1]
    factor = 4.0 / float(net.g_a(x).std())
    last_a.weight.mul_(factor)
    last_a.bias.mul_(factor)
    x_hat = net.g_s(net.g_a(x).round())
    last_s.weight.mul_(0.15 / float(x_hat.std()))
    last_s.bias.add_(0.5 - float(x_hat.mean()) * 0.15 / float(x_hat.std()))
    net.update(force=True)
    return net


MODELS_PY = '''
"""A user's own models: one with CompressAI's API, one factory, one without the API."""
import torch
from compressai.models import FactorizedPrior


class TinyNet(FactorizedPrior):
    """CompressAI's factorized-prior design with 8 / 12 channels."""

    def __init__(self):
        super().__init__(8, 12)


def make_tiny():
    return TinyNet()


class NoAPI(torch.nn.Module):
    def forward(self, x):
        return x
'''

PLUGIN_PY = '''
"""The plugin module an entry point names: a codec class with the user's defaults."""
from licbench.codecs.learned.compressai_codec import CompressAICodec


class TinyNetCodec(CompressAICodec):
    description = "TinyNet, the user's own model"
    defaults = {{"model": "tinypkg.models:TinyNet", "ckpt": {ckpt!r}}}
'''


def write_user_package(root: Path, ckpt: Path | None = None) -> Path:
    """``root/tinypkg`` and its ``.dist-info`` (entry point ``tiny-net``); returns ``root``."""
    package = root / "tinypkg"
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(MODELS_PY)
    if ckpt is not None:
        (package / "plugin.py").write_text(PLUGIN_PY.format(ckpt=str(ckpt)))
        info = root / "tinypkg-0.1.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text(
            textwrap.dedent(
                """\
                [licbench.codecs]
                tiny-net = tinypkg.plugin:TinyNetCodec
                """
            )
        )
    return root
