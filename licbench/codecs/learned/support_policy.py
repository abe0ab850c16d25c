"""Which earlier slices a slice network sees: the one thing the main and CCA's auxiliary differ in.

Why a declared policy rather than a flag in the loop: the main latent codec (slice i sees slices
< i, or only the first k of them) and the CCA loss's auxiliary model (slice i sees slices < i−1:
it lacks the newest one) run the same slice loop (``slice_coder``); only this choice differs, and
it decides both the networks' input widths and the tensors fed to them, so it must be one object
that both read. CompressAI's newer CCA model calls the same idea a support filter. No torch here:
policies are plain index rules, testable and printable without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class SupportPolicy:
    """A named rule ``indices(i)``: the earlier slices slice ``i`` is conditioned on, in order."""

    name: str
    indices: Callable[[int], range]

    def select(self, index: int, decoded: Sequence[T]) -> list[T]:
        """The decoded slices slice ``index`` sees (``decoded`` holds slices ``0 .. index−1``)."""
        return [decoded[j] for j in self.indices(index)]

    def __repr__(self) -> str:
        return f"SupportPolicy({self.name!r})"


def earlier_slices(limit: int | None = None) -> SupportPolicy:
    """The main models' rule: all slices < i, or only the first ``limit`` of them (Minnen–Singh
    ``y_hat_slices[:k]``, ConvNeXt-ChARM's ``max_support_slices=5``)."""
    if limit is None:
        return SupportPolicy("slices < i", lambda i: range(i))
    return SupportPolicy(f"first {limit} of slices < i", lambda i: range(min(i, limit)))


#: CCA's auxiliary model: everything the main model sees except the newest slice i−1
SKIP_NEWEST = SupportPolicy("slices < i−1", lambda i: range(max(i - 1, 0)))
