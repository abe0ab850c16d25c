"""Which of CompressAI's published result files licbench ships, and how each one is read.

CompressAI (InterDigitalInc/CompressAI, BSD 3-Clause Clear, InterDigital) publishes, under
``results/image/``, one CompressAI-format file per codec and test set: its zoo models evaluated by
``compressai.utils.eval_model`` and the classical codecs run by its bench tool. Those are the
curves a learned-codec comparison overlays, so licbench ships them as named references. The
numbers are data, copied unchanged; :func:`convert` only orders the points by rate (JPEG 2000's
files list them in another order) and keeps the series licbench knows.

Which zoo files, and why the CPU ones: each model is published as a ``cpu`` and a ``cuda`` run,
both real bitstreams ("Inference (ans)": ``compress()`` to rANS strings, bpp from their bytes),
plus ``8bit-decoded/`` runs. The CPU run is taken because it is the only one that is complete and
trustworthy for every set and metric: ``8bit-decoded/`` covers Kodak and CLIC mobile only, has no
cheng2020 MS-SSIM runs, and its ``*_ms-ssim_*`` files hold the MSE models' numbers (their ``name``
says ``-mse-8bit`` and the series equal the MSE files'). CPU float arithmetic is also the
reproducible side: the cpu and cuda runs of the autoregressive models (mbt2018, cheng2020) differ
by up to 0.005 bpp because float differences change the coded symbols' probabilities.

Test sets: CompressAI's ``clic2020-professional/vtm.json`` holds exactly the numbers of the
``compressai-clic2020-vtm`` reference (CLIC 2020 professional *validation*), so that folder is
licbench's ``clic`` set; ``clic2020-mobile`` is a set licbench does not ship.

Regenerate the data files with ``python -m licbench.references.compressai_results SRC`` (SRC:
a copy of CompressAI's ``results/image/``); the tests check they equal the published files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMMIT = "869a9f5d4126d015b7de8f203fe60ee9e1608193"
LICENSE = "BSD 3-Clause Clear (InterDigital)"

#: the series licbench reads (its metric names and CompressAI's timing keys); others are dropped
KNOWN_SERIES = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")

_ZOO = {
    "bmshj2018-factorized": ("Balle et al. 2018, factorized prior", 8),
    "bmshj2018-hyperprior": ("Balle et al. 2018, scale hyperprior", 8),
    "mbt2018-mean": ("Minnen et al. 2018, mean-scale hyperprior", 8),
    "mbt2018": ("Minnen et al. 2018, joint autoregressive and hyperprior", 8),
    "cheng2020-anchor": ("Cheng et al. 2020, anchor", 6),
    "cheng2020-attn": ("Cheng et al. 2020, with attention", 6),
}
_METRICS = {"mse": "MSE", "ms-ssim": "MS-SSIM"}

#: CompressAI folder → (name prefix, licbench dataset, the set in words)
_SETS = {
    "kodak": ("compressai-kodak", "kodak", "Kodak, 24 images"),
    "clic2020-professional": (
        "compressai-clic2020",
        "clic",
        "CLIC 2020 professional validation, 41 images",
    ),
    "clic2020-mobile": (
        "compressai-clic2020-mobile",
        "",
        "CLIC 2020 mobile, the split CompressAI evaluated (its folder says only "
        "'clic2020-mobile'); licbench ships no CLIC mobile set",
    ),
}

_ZOO_PROTOCOL = (
    "CompressAI eval_model on the zoo's pretrained weights ({weights}-optimized), quality "
    "1-{qualities}, network and entropy coding on CPU; 'Inference (ans)': a real rANS "
    "bitstream, bpp from its bytes; PSNR and MS-SSIM (pytorch-msssim) on RGB of the float "
    "reconstruction (not rounded to 8 bits); mean over images"
)
_ZOO_NOTES = (
    "the CPU file of CompressAI's cpu/cuda pair; an 8-bit decode (as licbench's `compressai` "
    "codec writes) scores slightly lower PSNR at the same bytes: 0.003 dB at the lowest to "
    "0.065 dB at the highest quality on Kodak (CompressAI's 8bit-decoded files)"
)
_BENCH_PROTOCOL = (
    "CompressAI bench ({tool}); PSNR and MS-SSIM on RGB; each point the mean over the images at "
    "one quality; bpp from the bitstream file"
)
#: how CompressAI's bench runs VTM (also the older compressai-kodak-vtm's protocol)
VTM_PROTOCOL = (
    "CompressAI bench: RGB -> YCbCr BT.709 full range, 8-bit, 4:4:4; PSNR and MS-SSIM "
    "(pytorch-msssim) on RGB; each point the mean over the images at one QP; bpp from the "
    "bitstream file"
)
#: CompressAI file → (name suffix, codec, protocol, notes)
_CLASSICAL = {
    "jpeg.json": (
        "jpeg",
        "JPEG (Pillow 7.1.2)",
        _BENCH_PROTOCOL.format(tool="Pillow, 19 qualities"),
        "",
    ),
    "webp.json": (
        "webp",
        "WebP (Pillow 7.1.2)",
        _BENCH_PROTOCOL.format(tool="Pillow, 19 qualities"),
        "",
    ),
    "jpeg2000.json": (
        "jpeg2000",
        "JPEG 2000 (ffmpeg 3.4.6)",
        _BENCH_PROTOCOL.format(tool="ffmpeg, 19 qualities"),
        "converted by licbench: points sorted by bpp (the published file lists them in another "
        "order), values unchanged",
    ),
    "av1.json": (
        "av1",
        "AV1 (intra)",
        _BENCH_PROTOCOL.format(tool="12 quantizers"),
        "the file records no encoder version or settings",
    ),
    "hm.json": (
        "hm",
        "HM (HEVC reference software, intra)",
        _BENCH_PROTOCOL.format(tool="8 QPs"),
        "the file records no HM version or configuration",
    ),
    "bpg_444_x265_ycbcr.json": (
        "bpg",
        "BPG 0.9.8 (x265, 4:4:4, 8-bit, YCbCr)",
        "CompressAI bench: bpgenc -f 444 -e x265 -c ycbcr -b 8 from the PNG (BPG does its own "
        "YCbCr conversion); PSNR and MS-SSIM on RGB; mean over images; 8 QPs",
        "licbench's `bpg` codec runs the same commands",
    ),
    "vtm.json": (
        "vtm",
        "VTM (VVC reference software, intra)",
        VTM_PROTOCOL + "; 8 QPs",
        "licbench's `vtm` codec runs the same commands; the PSNR presumably scores VTM's decode "
        "against its YCbCr input, as the Kodak curve's does (checked there: "
        "licbench-kodak-vtm-18.0), so licbench's `vtm` scores lower at high rates",
    ),
}
#: classical files already shipped under older names (compressai-kodak-vtm, ...), not repeated
_SHIPPED_BEFORE = {
    ("kodak", "vtm.json"),
    ("kodak", "bpg_444_x265_ycbcr.json"),
    ("clic2020-professional", "vtm.json"),
}


@dataclass(frozen=True)
class PublishedFile:
    """One CompressAI result file and the reference licbench ships it as."""

    name: str
    #: path under CompressAI's results/image/
    path: str
    codec: str
    dataset: str
    dataset_description: str
    protocol: str
    notes: str = ""

    @property
    def file(self) -> str:
        """The data file under licbench/references/data/."""
        return f"{self.name}.json"

    @property
    def source(self) -> str:
        return (
            f"CompressAI (InterDigitalInc/CompressAI at {COMMIT[:7]}, {LICENSE}) "
            f"results/image/{self.path}"
        )


def _zoo_files(folder: str) -> list[PublishedFile]:
    prefix, dataset, description = _SETS[folder]
    files = []
    for model, (paper, qualities) in _ZOO.items():
        for metric, weights in _METRICS.items():
            files.append(
                PublishedFile(
                    name=f"{prefix}-{model}-{metric}",
                    path=f"{folder}/compressai-{model}_{metric}_cpu.json",
                    codec=f"{model}, {weights} weights (CompressAI zoo; {paper})",
                    dataset=dataset,
                    dataset_description=description,
                    protocol=_ZOO_PROTOCOL.format(weights=weights, qualities=qualities),
                    notes=_ZOO_NOTES,
                )
            )
    return files


def _classical_files(folder: str) -> list[PublishedFile]:
    prefix, dataset, description = _SETS[folder]
    return [
        PublishedFile(
            name=f"{prefix}-{suffix}",
            path=f"{folder}/{file}",
            codec=codec,
            dataset=dataset,
            dataset_description=description,
            protocol=protocol,
            notes=notes,
        )
        for file, (suffix, codec, protocol, notes) in _CLASSICAL.items()
        if (folder, file) not in _SHIPPED_BEFORE
    ]


PUBLISHED: tuple[PublishedFile, ...] = tuple(
    entry for folder in _SETS for entry in (*_zoo_files(folder), *_classical_files(folder))
)


def convert(published: Mapping[str, Any]) -> dict[str, Any]:
    """A published file as licbench ships it: points ordered by bpp, known series only."""
    results = published["results"]
    order = sorted(range(len(results["bpp"])), key=lambda i: results["bpp"][i])
    return {
        "name": published["name"],
        "description": published["description"],
        "results": {
            key: [results[key][i] for i in order] for key in KNOWN_SERIES if key in results
        },
    }


def write_data(source: Path, data: Path) -> list[Path]:
    """Convert every file of :data:`PUBLISHED` from ``source`` (CompressAI's results/image/)."""
    written = []
    for entry in PUBLISHED:
        converted = convert(json.loads((source / entry.path).read_text("utf-8")))
        target = data / entry.file
        target.write_text(json.dumps(converted, indent=2) + "\n", "utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in write_data(Path(sys.argv[1]), Path(__file__).parent / "data"):
        print(path)
