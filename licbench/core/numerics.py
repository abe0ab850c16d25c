"""Numeric setups: the knobs that change a learned codec's floating-point results on one machine.

A learned decoder computes in float32 with kernels picked at run time: oneDNN (convolutions)
by the CPU's instruction set, ATen's vectorised loops (element-wise ops, reductions) by its
"CPU capability", MKL (matrix products) by its own dispatch, and all three by the thread count.
Another machine differs in those picks, so it sums in another order and rounds differently.
Each library has an environment variable that caps its pick, which lets one machine behave as
another (read once, when the library loads: they must be set before torch is imported, so a
setup is applied to a fresh process):

============  ================================================================================
``sse41``     oneDNN's SSE4.1 kernels, ATen's portable C++ loops, MKL's compatible (SSE2) path:
              what every x86-64 CPU runs, and the same on each of them (no FMA, no wider
              vectors; oneDNN accumulates a reduction in one order whatever its blocking)
``avx2``      oneDNN, ATen and MKL capped at AVX2 (a CPU without AVX-512, e.g. AMD Zen 2/3)
``avx512``    capped at AVX-512 (the native pick of CPUs that have it)
``threads=N`` N intra-op threads (a reduction split N ways sums in another order)
``cuda``      decode on the GPU (with ``cuda-encode``: encode on the GPU, decode on the CPU)
============  ================================================================================

Measured on one machine (AMD EPYC with AVX-512, torch 2.14.1): the tiny learned codecs' test
bitstreams (128×192) are identical under every setup here and on an Intel Xeon, and decode
within one level everywhere; on the Kodak sample, bitstreams encoded with AVX-512 kernels decode
to garbage under the ``sse41`` or ``avx2`` caps in 3–4 of 12 jobs per codec (one CDF index
moved), and within one level with another thread count. ``licbench run --decode-check``
measures this per codec (see :mod:`licbench.bench.decode_check`).

Nothing here imports torch at module level; :func:`observe` does, in the process it describes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field

#: the environment of each instruction-set cap
ISA_ENV: dict[str, dict[str, str]] = {
    "sse41": {
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_CBWR": "COMPATIBLE",
    },
    "avx2": {
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    },
    "avx512": {
        "ONEDNN_MAX_CPU_ISA": "AVX512_CORE",
        "ATEN_CPU_CAPABILITY": "avx512",
        "MKL_ENABLE_INSTRUCTIONS": "AVX512",
    },
}
#: the variables above, and the thread counts: what a setup replaces in the environment
NUMERIC_VARIABLES = sorted(
    {name for env in ISA_ENV.values() for name in env}
    | {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "ONEDNN_VERBOSE"}
)


class SetupError(ValueError):
    """A setup name that is not one of :data:`ISA_ENV`, ``threads=N``, ``cuda``, ``cuda-encode``."""


@dataclass(frozen=True)
class NumericSetup:
    """One way of running a decoder: an ISA cap, a thread count, or a device."""

    name: str
    #: the environment variables a fresh process gets (on top of the caller's)
    env: Mapping[str, str] = field(default_factory=dict)
    #: intra-op threads in that process
    threads: int = 1
    #: where the check decodes (``cuda``), or encodes before a CPU decode (``cuda-encode``)
    device: str = "cpu"
    encode_device: str = "cpu"

    @property
    def uses_gpu(self) -> bool:
        return self.device != "cpu" or self.encode_device != "cpu"

    @property
    def description(self) -> str:
        if self.encode_device != "cpu":
            return f"encoded on {self.encode_device}, decoded on the CPU ({self.threads} thread)"
        if self.device != "cpu":
            return f"decoded on {self.device}"
        isa = self.name.split("+")[0]
        what = {
            "sse41": "oneDNN SSE4.1, ATen portable loops, MKL compatible path",
            "avx2": "oneDNN, ATen and MKL capped at AVX2",
            "avx512": "oneDNN, ATen and MKL capped at AVX-512",
        }.get(isa, "this CPU's own kernels")
        threads = "thread" if self.threads == 1 else "threads"
        return f"{what}; {self.threads} {threads}"

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """``base`` (default: this process's) with this setup's variables. An instruction-set
        setup replaces every inherited cap; the others keep the caller's (a run made under
        ``ONEDNN_MAX_CPU_ISA=AVX2`` is checked with another thread count under it too), so
        each setup varies one thing."""
        env = {k: v for k, v in (os.environ if base is None else base).items()}
        for name in NUMERIC_VARIABLES if self.env else ("ONEDNN_VERBOSE",):
            env.pop(name, None)
        env.update(self.env)
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(self.threads)
        return env


def parse_setup(text: str, *, threads: int = 1) -> NumericSetup:
    """``sse41`` | ``avx2`` | ``avx512`` | ``threads=N`` | ``cuda`` | ``cuda-encode``.

    ``threads`` is the thread count of setups that do not name one (the run's own, one per
    worker), so that each setup varies one thing.
    """
    name = text.strip().lower()
    if name in ISA_ENV:
        return NumericSetup(name, ISA_ENV[name], threads=threads)
    if name.startswith("threads="):
        count = name.partition("=")[2]
        if not count.isdigit() or int(count) < 1:
            raise SetupError(f"decode-check setup {text!r}: threads=N takes a positive integer")
        return NumericSetup(f"threads={int(count)}", threads=int(count))
    if name in ("cuda", "cuda-encode"):
        device = "cuda"
        if name == "cuda":
            return NumericSetup(name, threads=threads, device=device)
        return NumericSetup(name, threads=threads, encode_device=device)
    raise SetupError(
        f"unknown decode-check setup {text!r}; choose from {', '.join(ISA_ENV)}, threads=N, "
        "cuda, cuda-encode"
    )


def default_setups(*, run_threads: int = 1, cuda: bool = False) -> list[NumericSetup]:
    """What ``--decode-check`` varies when not told: another instruction set (SSE4.1, the
    baseline every x86-64 CPU has, as far from this CPU's pick as a CPU can be), another thread
    count, and with a GPU both directions between it and the CPU. ``avx2`` and ``avx512`` are
    there to name (``--decode-check sse41,avx2,threads=2``): each setup costs one more decode
    of every bitstream."""
    names = ["sse41", f"threads={2 if run_threads == 1 else 1}"]
    if cuda:
        names += ["cuda", "cuda-encode"]
    return [parse_setup(name, threads=run_threads) for name in names]


def onednn_isa() -> str:
    """The instruction set oneDNN uses in this process, as its verbose mode reports it.

    oneDNN prints it (to the C stdout) when it first runs a primitive in verbose mode, so a
    small convolution runs with fd 1 sent to a temporary file.
    """
    import torch

    sys.stdout.flush()
    saved = os.dup(1)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                torch.nn.functional.conv2d(torch.ones(1, 32, 32, 32), torch.ones(32, 32, 3, 3))
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    for line in text.splitlines():
        if ",cpu,isa:" in line:
            return line.partition(",cpu,isa:")[2].strip()
    return "unknown (oneDNN printed no ISA)"


def observe() -> dict[str, str]:
    """What this process's numerics are: oneDNN's ISA, ATen's capability, threads, MKL mode."""
    import torch

    return {
        "onednn_isa": onednn_isa(),
        "aten_capability": str(torch.backends.cpu.get_cpu_capability()),
        "threads": str(torch.get_num_threads()),
        "mkl": os.environ.get("MKL_CBWR") or os.environ.get("MKL_ENABLE_INSTRUCTIONS") or "auto",
    }


if __name__ == "__main__":  # `python -m licbench.core.numerics`: CI checks a cap took effect
    import json

    print(json.dumps(observe()))
