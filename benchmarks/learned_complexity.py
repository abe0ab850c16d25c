"""Parameters and kMAC/pixel per part of every learned architecture, paper and tiny configs.

Counted by ``licbench.codecs.learned.complexity`` (torch's ``FlopCounterMode`` on the meta
device: no arithmetic, a second per model) for one image size, 768×512 (Kodak) by default.
kMAC/px = MACs / (H·W) / 1000; 1 MAC = 2 FLOPs; entropy coding and elementwise work are not
counted (the list is printed). ``--zoo`` adds CompressAI zoo models for comparison, ``--memory``
measures peak memory of encode and decode in fresh processes (slow: a codec build each).

    python benchmarks/learned_complexity.py [--size 768x512] [--zoo] [--memory] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import warnings

ARCHS = ("cca", "convnext-charm", "swint-charm")
ZOO = ("bmshj2018_hyperprior", "mbt2018_mean", "mbt2018", "cheng2020_anchor")
COLUMNS = (
    "analysis",
    "synthesis",
    "hyper_analysis",
    "hyper_synthesis",
    "context",
    "encoder",
    "decoder",
)


def _millions(count: int) -> str:
    return f"{count / 1e6:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="768x512", help="W×H of the image (default 768x512)")
    parser.add_argument("--zoo", action="store_true", help="also CompressAI zoo models (q=1)")
    parser.add_argument("--memory", action="store_true", help="peak memory (fresh processes)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    warnings.filterwarnings("ignore", category=FutureWarning)

    from licbench.codecs.learned import complexity as cx

    rows = []
    for arch in ARCHS:
        for config in ("paper", "tiny"):
            memory = None
            if args.memory:
                memory = cx.measure_peak_memory(
                    f"{arch}:config={config},weights=random", height, width
                )
            result = cx.model_complexity(arch, config, height, width, peak_memory=memory)
            rows.append((f"{arch}/{config}", result))
    if args.zoo:
        from compressai import zoo

        for name in ZOO:
            model = getattr(zoo, name)(quality=1, pretrained=False)
            rows.append((f"compressai {name} q1", cx.measure_complexity(model, height, width)))

    print(f"{width}×{height}, {cx.COUNTER}; kMAC/px = MACs / (H·W) / 1000\n")
    header = ["model", "params (M): total", "g_a", "g_s", "entropy"]
    print("| " + " | ".join(header + [f"kMAC/px {c}" for c in COLUMNS]) + " |")
    print("|" + "---|" * (len(header) + len(COLUMNS)))
    for name, result in rows:
        p = result.params
        entropy = p["total"] - p["analysis"] - p["synthesis"] - p["other"]
        k = result.kmac_per_pixel()
        cells = [
            name,
            _millions(p["total"]),
            _millions(p["analysis"]),
            _millions(p["synthesis"]),
            _millions(entropy),
        ]
        cells += [f"{k[c]:.1f}" for c in COLUMNS]
        print("| " + " | ".join(cells) + " |")
    if args.memory:
        print("\npeak RSS (MB), encode / decode:")
        for name, result in rows:
            if result.peak_memory:
                enc, dec = result.peak_memory["encode"], result.peak_memory["decode"]
                print(f"  {name}: {enc['peak_rss_mb']} / {dec['peak_rss_mb']}")
    print("\nnot counted: " + "; ".join(cx.NOT_COUNTED))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({name: result.to_dict() for name, result in rows}, out, indent=2)


if __name__ == "__main__":
    main()
