"""Turn a licbench run of an anchor (bpg, vtm) into a named reference file with its provenance,
and compare it with the published curves.

    python benchmarks/anchor_references.py RUN_DIR --codec vtm --name licbench-kodak-vtm-18.0 \\
        --commit SHA --command "licbench run ..." [--wall-s SECONDS] \\
        [--compare compressai-kodak-vtm cca-kodak] [--out licbench/references/data/NAME.json]

RUN_DIR is a finished ``licbench run`` output folder (``summary.json``, ``run.json``). The file
written is a CompressAI-format curve (bpp, psnr-rgb, ms-ssim-rgb; the mean over the images at
each QP) plus ``licbench``: the tool versions and sha256s, the definition's commands and colour
handling, the QPs, the dataset's images by sha256, the licbench commit, the command that made
the run and how long it took. With ``--compare`` it prints the BD-rate (pchip, akima, cubic; PSNR
and MS-SSIM) of the run's curve against each named reference and of each reference against it,
and keeps them in the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

SERIES = ("bpp", "psnr-rgb", "ms-ssim-rgb")


def _commands(codec_name: str, commit: str) -> dict[str, object]:
    """The definition's commands and picture handling as the run had them: the file at
    ``commit`` (git), else the current one (and it says so)."""
    import subprocess

    from licbench.codecs import CODECS
    from licbench.codecs.external.definition import parse_definition

    d = CODECS.get(codec_name).definition
    where = f"licbench/codecs/external/{d.path.name}"
    done = subprocess.run(
        ["git", "show", f"{commit}:{where}"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent,
    )
    if done.returncode == 0:
        d, where = parse_definition(done.stdout, d.path), f"{where} at {commit}"
    else:
        where += " (current: the commit's file could not be read)"
    info: dict[str, object] = {
        "definition": f"{where} (sha256 {d.sha256})",
        "encode": " ".join(d.encode.command),
        "decode": " ".join(d.decode.command),
        "encoder_input": d.encode.input,
        "decoder_output": d.decode.output,
    }
    if d.encode.input == "yuv":
        info["yuv"] = {
            "conversion": "RGB -> YCbCr BT.709 full range in Python (licbench.core.colour), "
            f"{d.yuv.rounding} to {d.yuv.precision} bits; back: YCbCr -> RGB, "
            f"{d.yuv.rounding} to 8 bits",
            "chroma": d.yuv.chroma,
            "bit_depth": d.yuv.bit_depth,
            "size": "4-byte width/height prefix before the bitstream, counted in bpp"
            if d.yuv.dimensions == "prefix"
            else "in the stream",
        }
    return info


def _bd(anchor: dict, test: dict, metric: str, method: str) -> float | None:
    import licbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = licbench.bd_rate(anchor, test, metric=metric, method=method)
        except Exception:
            return None
    return None if value != value else round(float(value), 6)  # NaN: no overlap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--codec", required=True, help="the codec label in the run")
    parser.add_argument("--name", required=True, help="the reference's name")
    parser.add_argument("--commit", required=True, help="the licbench commit the run used")
    parser.add_argument("--command", required=True, help="the command that made the run")
    parser.add_argument("--wall-s", type=float, help="how long the run took (seconds)")
    parser.add_argument("--machine", default="", help="the machine in words (cores, load)")
    parser.add_argument("--compare", nargs="*", default=[], help="reference names")
    parser.add_argument(
        "--psnr-protocols",
        nargs="*",
        type=Path,
        default=[],
        help="JSON rows of benchmarks/vtm_psnr_protocols.py (one QP) to summarise in the file",
    )
    parser.add_argument("--out", type=Path, help="write the reference file here")
    args = parser.parse_args(argv)

    import licbench

    summary = json.loads((args.run / "summary.json").read_text())
    manifest = json.loads((args.run / "run.json").read_text())
    entry = summary["codecs"][args.codec]
    results = entry["results"]
    codec_name = args.codec.partition(":")[0]
    from licbench.codecs import CODECS

    cls = CODECS.get(codec_name)
    q = cls.definition.quality
    qps = [int(q.to_tool(v)) for v in results["quality"]]
    identity = summary["dataset_identity"]
    provenance = {
        "codec": args.codec,
        "version": entry["version"],
        "tool_versions": dict(
            part.split("=", 1) for part in entry["version"].split(";") if "=" in part
        ),
        "commands": _commands(codec_name, args.commit),
        "qp": qps,
        "images_per_point": results.get("images"),
        "averaging": "arithmetic mean over the images of bpp and of PSNR-RGB (and MS-SSIM-RGB) "
        "at each QP, as CompressAI's bench",
        "bpp": "8 x bytes of the bitstream decode received / (H x W)",
        "dataset": {"name": identity["name"], "images": identity["images"]},
        "image_sha256": identity["sha256"],
        "licbench_commit": args.commit,
        "command": args.command,
        "wall_s": args.wall_s,
        "machine": args.machine or summary["environment"].get("platform", ""),
        "environment": summary["environment"],
        "made": manifest.get("created"),
        "mean_encode_s": [round(v, 2) for v in results.get("encoding_time", [])],
        "mean_decode_s": [round(v, 3) for v in results.get("decoding_time", [])],
    }
    curve = {
        "name": args.name,
        "description": f"{entry['description']} -- licbench's own run on "
        f"{identity['name']} ({identity['images']} images), QP {', '.join(map(str, qps))}",
        "version": entry["version"],
        "results": {key: results[key] for key in SERIES if key in results},
    }
    comparisons = {}
    for name in args.compare:
        published = licbench.load_reference(name)
        row = {}
        for metric in ("psnr-rgb", "ms-ssim-rgb"):
            if metric not in published["results"] or metric not in curve["results"]:
                continue
            row[metric] = {
                method: {
                    "this_vs_published": _bd(published, curve, metric, method),
                    "published_vs_this": _bd(curve, published, metric, method),
                }
                for method in ("pchip", "akima", "cubic")
            }
        comparisons[name] = row
        print(f"{args.name} against {name}: {json.dumps(row)}")
    provenance["bd_rate"] = {
        "meaning": "this_vs_published: BD-rate (%) of this curve with the published one as "
        "anchor; published_vs_this: the published curve with this one as anchor; "
        "licbench.bd_rate, curves as they are (the overlapping range only)",
        **comparisons,
    }
    if args.psnr_protocols:
        rows = [row for path in args.psnr_protocols for row in json.loads(path.read_text())]
        (qp,) = {row["qp"] for row in rows}
        index = [47, 42, 37, 32, 27, 22, 17, 12].index(qp)  # CompressAI's points, by rate
        published = licbench.load_reference("compressai-kodak-vtm")["results"]
        provenance["psnr_protocols"] = {
            "script": "benchmarks/vtm_psnr_protocols.py",
            "qp": qp,
            "images": len(rows),
            "bpp_without_size_prefix": round(sum(r["bpp"] for r in rows) / len(rows), 6),
            "psnr_rgb_licbench": round(sum(r["licbench"] for r in rows) / len(rows), 4),
            "psnr_rgb_against_ycbcr_input": round(
                sum(r["ycbcr-input"] for r in rows) / len(rows), 4
            ),
            "compressai_kodak_vtm_published": {
                "bpp": round(published["bpp"][index], 6),
                "psnr-rgb": round(published["psnr-rgb"][index], 4),
            },
            "reading": "licbench scores the original PNG against the 8-bit RGB reconstruction "
            "(the 8-bit YCbCr round trip, truncated each way, caps Kodak at 43.7 dB); "
            "CompressAI's published VTM curve matches the PSNR of VTM's decode against its own "
            "YCbCr input, both in float RGB: the conversion loss is left out there",
        }
        print(json.dumps(provenance["psnr_protocols"]))
    curve["licbench"] = provenance
    for i, qp in enumerate(qps):
        row = "  ".join(f"{k}={curve['results'][k][i]:.5f}" for k in curve["results"])
        print(f"QP {qp:>2}: {row}")
    if args.out:
        args.out.write_text(json.dumps(curve, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
