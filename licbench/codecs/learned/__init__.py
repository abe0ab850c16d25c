"""Learned image codecs: licbench's architectures and CompressAI-API models on one stack.

``LearnedCodecBase`` (``codec``) is every learned codec's base: ``LearnedCodec`` runs licbench's
architectures (CCA, ConvNeXt-ChARM, SwinT-ChARM on one channel-wise latent codec; each declared
in its own module of ``archs/``, which registers it) and ``CompressAICodec``
(``compressai_codec``) CompressAI's zoo and your own CompressAI-API modules. ``create_model`` /
``list_models`` build the PyTorch models from the architectures' registry (``configs``).
Importing this package does not import torch: the codec classes load on first access.
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

_CODEC_EXPORTS = {
    "LearnedCodecBase": "licbench.codecs.learned.codec:LearnedCodecBase",
    "LearnedCodec": "licbench.codecs.learned.codec:LearnedCodec",
    "CompressAICodec": "licbench.codecs.learned.compressai_codec:CompressAICodec",
    "CCA": "licbench.codecs.learned.archs.cca:CCA",
    "ConvNeXtCharm": "licbench.codecs.learned.archs.convnext_charm:ConvNeXtCharm",
    "SwinTCharm": "licbench.codecs.learned.archs.swint_charm:SwinTCharm",
}


def __getattr__(name: str) -> Any:
    if name in _CODEC_EXPORTS:
        from licbench.registry import import_object

        return import_object(_CODEC_EXPORTS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_model", "get_config", "list_models", *_CODEC_EXPORTS]
