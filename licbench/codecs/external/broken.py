"""The codec a user definition becomes when its file cannot be used.

Users' definitions are read whenever :mod:`licbench.codecs` is imported, which every command
does (the command line reads its defaults from the registries). A file with a typo must
therefore not raise there: it would break ``licbench datasets`` and ``licbench check``, which
never run a codec. It registers instead as a codec that is unavailable, with the parse error
(file and line) as the reason, so ``licbench codecs`` shows it and a run that names it fails
with that one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NoReturn

from licbench.codecs.base import Availability, Codec, CodecSpecError

if TYPE_CHECKING:
    import numpy as np


class BrokenDefinition(Codec):
    """Stands for a definition file that failed to load; every use says why."""

    path: ClassVar[Path]
    reason: ClassVar[str]

    @classmethod
    def available(cls) -> Availability:
        return Availability(False, cls.reason, f"fix or remove {cls.path}")

    def __init__(self, **params: str) -> None:
        self._refuse()

    @classmethod
    def _refuse(cls) -> NoReturn:
        raise CodecSpecError(cls.reason)

    def version(self) -> str:
        self._refuse()

    def encode(self, image: np.ndarray, quality: float) -> bytes:
        self._refuse()

    def decode(self, data: bytes) -> np.ndarray:
        self._refuse()


def broken_class(name: str, path: Path, reason: str) -> type[BrokenDefinition]:
    """A :class:`BrokenDefinition` subclass for the file ``path`` registered as ``name``."""
    namespace = {
        "path": path,
        "reason": reason,
        "description": f"(unusable definition {path})",
        "__module__": __name__,
        "__doc__": f"The unusable codec definition {path}.",
    }
    class_name = "Broken_" + "".join(c if c.isalnum() else "_" for c in name)
    return type(class_name, (BrokenDefinition,), namespace)
