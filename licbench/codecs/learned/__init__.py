"""Learned image codecs: CCA, ConvNeXt-ChARM and SwinT-ChARM on one channel-wise latent codec.

``create_model`` / ``list_models`` build the PyTorch models from the one table of configurations
(``configs``); ``LearnedCodec`` and its subclasses ``CCA``, ``ConvNeXtCharm``, ``SwinTCharm`` are
the licbench codecs (real bitstreams, decode from bytes only). Importing this package does not
import torch: the codec classes load on first access.
"""

from __future__ import annotations

import warnings
from typing import Any

from licbench.codecs.learned.configs import create_model, get_config, list_models

# compressai 1.2.8 calls torch.jit.script at import, which torch 2.14 deprecates with a
# FutureWarning on every run; nothing a user can act on, so exactly that message is silenced
warnings.filterwarnings(
    "ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning
)

_CODEC_EXPORTS = ("LearnedCodec", "CCA", "ConvNeXtCharm", "SwinTCharm")


def __getattr__(name: str) -> Any:
    if name in _CODEC_EXPORTS:
        from licbench.codecs.learned import codec

        return getattr(codec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_model", "get_config", "list_models", *_CODEC_EXPORTS]
