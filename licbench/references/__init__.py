"""Published rate–distortion points, shipped with licbench, as named references.

Each reference is one curve in CompressAI's results format (``{name, description, results:
{bpp: [...], psnr-rgb: [...], ...}}``), so it goes straight into :func:`licbench.bd_rate` and
CompressAI's plot tool, plus a ``provenance`` entry: where the numbers come from and how they
were measured. The numbers are copied, unchanged, from the public files listed in each entry
(CCA's own file is converted: one file per test set, points sorted by rate). CompressAI's zoo
models and classical codecs on Kodak and CLIC 2020 are listed in :mod:`.compressai_results`
(which files, and why the CPU runs); ``licbench references [PATTERN]`` lists every name.

``licbench run --reference NAME`` (repeatable) records references in the run; ``summary.json``
then carries them and the BD-rate of every codec against each (see
:mod:`licbench.results.references`).

The one table of names is ``REFERENCES`` (the generic :class:`~licbench.registry.Registry`);
plugins add references through the entry-point group ``licbench.references``.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from licbench.references.compressai_results import PUBLISHED
from licbench.references.compressai_results import VTM_PROTOCOL as COMPRESSAI_PROTOCOL
from licbench.registry import Registry

if TYPE_CHECKING:  # (imported when asked for: BD-rates need scipy, listing names does not)
    from licbench.results.references import ReferenceCurve


@dataclass(frozen=True)
class Reference:
    """One published curve and where it comes from."""

    name: str
    #: file under licbench/references/data/
    file: str
    #: the codec or model the points measure
    codec: str
    #: the licbench dataset the points were measured on ("kodak", "clic", "tecnick"), or "" when
    #: the published set is not one licbench ships
    dataset: str
    #: the test set in words, as the source names it
    dataset_description: str
    #: where the numbers come from (repository and file)
    source: str
    #: how they were measured (colour handling, metric, averaging)
    protocol: str
    #: caveats worth reading before comparing
    notes: str = ""

    def rate_span(self) -> tuple[int, float, float]:
        """Number of points and the lowest and highest bpp: what a listing shows, read from the
        JSON alone (no numpy), so ``licbench references`` stays instant."""
        rates = [r for r in _read(self.file)["results"]["bpp"] if r is not None]
        return len(rates), min(rates, default=math.nan), max(rates, default=math.nan)

    def load(self) -> dict[str, Any]:
        """The curve in CompressAI's format with a ``provenance`` entry (a fresh copy)."""
        data = copy.deepcopy(_read(self.file))
        data["provenance"] = {k: v for k, v in asdict(self).items() if k != "name"}
        data["provenance"]["reference"] = self.name
        return data


@cache
def _read(file: str) -> dict[str, Any]:
    text = resources.files("licbench.references").joinpath("data", file).read_text("utf-8")
    return json.loads(text)


REFERENCES: Registry[Reference] = Registry("reference", "licbench.references")


def _register(reference: Reference) -> None:
    REFERENCES.register(reference.name, reference)


#: licbench's own VTM-18.0 Kodak curve (registered below), which the published VTM curves cite
_VTM_OWN = "licbench-kodak-vtm-18.0"


_register(
    Reference(
        name="compressai-kodak-vtm",
        file="compressai-kodak-vtm.json",
        codec="VTM (VVC reference software, intra)",
        dataset="kodak",
        dataset_description="Kodak, 24 images",
        source="CompressAI results/image/kodak/vtm.json",
        protocol=COMPRESSAI_PROTOCOL + "; 8 QPs",
        notes="widely reused as the 'VTM-12.1' Kodak anchor; licbench's `vtm` codec runs the "
        "same commands, but this curve's PSNR is that of VTM's decode against the 8-bit YCbCr it "
        "was given (both in float RGB), not against the original PNG: the same bytes score "
        f"0.05-1.04 dB lower in licbench (QP 47-22), +5.69% BD-rate; see {_VTM_OWN}",
    )
)
_register(
    Reference(
        name="compressai-kodak-bpg",
        file="compressai-kodak-bpg.json",
        codec="BPG 0.9.8 (x265, 4:4:4, 8-bit, YCbCr)",
        dataset="kodak",
        dataset_description="Kodak, 24 images",
        source="CompressAI results/image/kodak (BPG 8b 444 x265 ycbcr)",
        protocol="CompressAI bench: bpgenc -f 444 -e x265 -c ycbcr -b 8 from the PNG (BPG does "
        "its own YCbCr conversion); PSNR and MS-SSIM on RGB; mean over images",
        notes="licbench's `bpg` codec runs the same commands",
    )
)
_register(
    Reference(
        name="compressai-clic2020-vtm",
        file="compressai-clic2020-vtm.json",
        codec="VTM (VVC reference software, intra)",
        dataset="clic",
        dataset_description="CLIC 2020 professional validation, 41 images",
        source="CompressAI results/image/clic2020 (professional validation) vtm.json",
        protocol=COMPRESSAI_PROTOCOL + "; 8 QPs",
        notes="a different CLIC split from CCA's: do not compute BD-rate between the two; "
        "its PSNR presumably scores VTM's decode against its YCbCr input, as on Kodak (checked "
        f"there, {_VTM_OWN}), so licbench's `vtm` scores lower at high rates",
    )
)
_CCA_SOURCE = "CCA repository (LabShuHangGU/CCA, MIT) RD_data.json, key {key!r}"
_CCA_PROTOCOL = (
    "the authors' own evaluation, 6 lambdas, mean over images; bpp as they report it (their "
    "eval.py pads to a multiple of 128 and by default reports likelihood bpp, not bitstream "
    "bytes); PSNR on RGB; converted by licbench: points sorted by bpp, 'PSNR' stored as psnr-rgb"
)
_register(
    Reference(
        name="cca-kodak",
        file="cca-kodak.json",
        codec="CCA (Han et al., NeurIPS 2024)",
        dataset="kodak",
        dataset_description="Kodak, 24 images",
        source=_CCA_SOURCE.format(key="Kodak"),
        protocol=_CCA_PROTOCOL,
        notes="BD-rate against compressai-kodak-vtm: -13.73% (pchip), -13.78% (akima), "
        "-13.94% (cubic); against compressai-kodak-bpg about -31.5% (pchip, small overlap)",
    )
)
_register(
    Reference(
        name="cca-clic",
        file="cca-clic.json",
        codec="CCA (Han et al., NeurIPS 2024)",
        dataset="",
        dataset_description="CLIC as CCA's paper evaluates it (not CLIC 2020 professional "
        "validation)",
        source=_CCA_SOURCE.format(key="CLIC"),
        protocol=_CCA_PROTOCOL,
        notes="a different CLIC split from licbench's `clic` and compressai-clic2020-vtm: do not "
        "compute BD-rate between them",
    )
)
_register(
    Reference(
        name="cca-tecnick",
        file="cca-tecnick.json",
        codec="CCA (Han et al., NeurIPS 2024)",
        dataset="tecnick",
        dataset_description="Tecnick TESTIMAGES RGB 1200x1200, 100 images",
        source=_CCA_SOURCE.format(key="Tecnick"),
        protocol=_CCA_PROTOCOL,
    )
)
_register(
    Reference(
        name="tbtc-kodak-swint-charm",
        file="tbtc-kodak-swint-charm.json",
        codec="SwinT-ChARM (public PyTorch port, TBTC fork of CompressAI, zyc2022-swint-charm)",
        dataset="kodak",
        dataset_description="Kodak, 24 images",
        source="TBTC fork of CompressAI, results for zyc2022-swint-charm on Kodak",
        protocol="the fork's CompressAI-format results file ('Inference (ans)': entropy coded "
        "with rANS); PSNR and MS-SSIM on RGB; mean over images; 4 points",
        notes="weaker than the paper (about +0.5% vs VTM, the paper reports -3.68% vs VTM-12.1)",
    )
)

# licbench's own anchor runs (benchmarks/anchor_references.py): the file's "licbench" entry holds
# the tool versions and sha256s, the commands, colour handling, QPs, images and the run's command
_register(
    Reference(
        name="licbench-kodak-bpg",
        file="licbench-kodak-bpg.json",
        codec="BPG 0.9.8 (licbench `bpg`: x265, 4:4:4, 8-bit, YCbCr)",
        dataset="kodak",
        dataset_description="Kodak, 24 images",
        source="licbench's own run (benchmarks/anchor_references.py; libbpg 0.9.8 built from "
        "../shared/vendor with build-tools.sh), licbench commit a76cd2b",
        protocol="bpgenc -o OUT.bpg -q QP -f 444 -e x265 -c ycbcr -b 8 IN.png; bpgdec -o OUT.png "
        "IN.bpg (BPG converts RGB to YCbCr itself, BT.601 full range); QP 47 to 12 in steps of "
        "5; bpp of the .bpg file; PSNR and MS-SSIM on RGB; mean over the 24 images",
        notes="reproduces compressai-kodak-bpg: the same bytes (mean bpp equal to 4e-16) and "
        "PSNR (3e-8 dB) at all 8 QPs, BD-rate 0.0000% (PSNR) and -0.002% (MS-SSIM)",
    )
)

_register(
    Reference(
        name=_VTM_OWN,
        file="licbench-kodak-vtm-18.0.json",
        codec="VTM-18.0 intra (licbench `vtm`: YCbCr BT.709 4:4:4 8-bit, encoder_intra_vtm.cfg)",
        dataset="kodak",
        dataset_description="Kodak, 24 images",
        source="licbench's own run (benchmarks/anchor_references.py; VTM-18.0 built from "
        "../shared/vendor with build-tools.sh), licbench commit a76cd2b",
        protocol="RGB -> YCbCr BT.709 full range, 8-bit, truncated, in Python; EncoderAppStatic -c "
        "encoder_intra_vtm.cfg -q QP -fr 1 -f 1 --InputChromaFormat=444 --InputBitDepth=8 "
        "--ConformanceWindowMode=1; DecoderAppStatic -d 8; YCbCr -> RGB truncated to 8 bits; PSNR "
        "and MS-SSIM of the original PNG against that RGB; bpp of the bitstream plus licbench's "
        "4-byte size prefix; QP 47 to 22 in steps of 5; mean over the 24 images",
        notes="against compressai-kodak-vtm: the same rates (bpp within 0.35% at each QP) and "
        "PSNR 0.05-1.04 dB lower (QP 47-22), BD-rate +5.69% (pchip; MS-SSIM -0.76%), because that "
        "curve scores VTM's decode against its own YCbCr input (at QP 27, scored so, these "
        "decodes give 37.404 dB against its 37.420: benchmarks/vtm_psnr_protocols.py); cca-kodak "
        "against this curve: -18.19% (pchip), against compressai-kodak-vtm -13.73%",
    )
)

# CompressAI's zoo models and classical codecs on Kodak and CLIC 2020 (see compressai_results)
for _published in PUBLISHED:
    _register(
        Reference(
            name=_published.name,
            file=_published.file,
            codec=_published.codec,
            dataset=_published.dataset,
            dataset_description=_published.dataset_description,
            source=_published.source,
            protocol=_published.protocol,
            notes=_published.notes,
        )
    )


def list_references(pattern: str = "*") -> list[str]:
    """Names of the bundled (and plugin) references matching a shell-style wildcard."""
    return REFERENCES.names(pattern)


def reference_info(name: str) -> Reference:
    """The :class:`Reference` entry (provenance without the points); unknown names raise."""
    return REFERENCES.get(name)


def load_reference(name: str) -> dict[str, Any]:
    """A published curve in CompressAI's format, with its ``provenance``.

    >>> import licbench
    >>> vtm = licbench.load_reference("compressai-kodak-vtm")
    >>> licbench.bd_rate(vtm, licbench.load_reference("cca-kodak"))   # about -13.73 (%)
    """
    return REFERENCES.get(name).load()


def reference_curve(name: str) -> ReferenceCurve:
    """The typed curve a run compares with (what :mod:`licbench.results` works on)."""
    from licbench.results.curve import Curve
    from licbench.results.references import ReferenceCurve

    reference = REFERENCES.get(name)
    return ReferenceCurve(
        name,
        Curve.from_dict(reference.load(), name),
        reference.dataset,
        reference.dataset_description,
    )


__all__ = [
    "REFERENCES",
    "Reference",
    "list_references",
    "load_reference",
    "reference_curve",
    "reference_info",
]
