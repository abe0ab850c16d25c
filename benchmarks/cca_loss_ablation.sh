#!/usr/bin/env bash
# CCA-loss ablation: the tiny CCA configuration with α=1 against α=0, same steps, same λs, same
# seed and data; both measured on Kodak; prints the BD-rate of α=1 against α=0.
#
#   benchmarks/cca_loss_ablation.sh WORK_DIR [BASE_STEPS] [FINETUNE_STEPS]
#
# How the two series are trained (as the bundled cca-tiny was): one base at λ=0.013 with α=0,
# then every λ is fine-tuned from it twice, with α=0 and with α=1. The two differ only in the
# CCA term during the fine-tunes. (Training each series from scratch with its own α is the
# stronger ablation; at ~45 min per base on two shared CPU cores it did not fit here.)
#
# Needs Kodak (licbench datasets fetch kodak, or LICBENCH_MIRROR) and CID22 ($CID22).
# An interrupted run resumes.
set -euo pipefail
work=$1; base=${2:-4000}; tune=${3:-600}
here=$(cd "$(dirname "$0")" && pwd)
"$here/train_tiny_series.sh" cca 0 "$work/alpha0" "$base" "$tune"
mkdir -p "$work/alpha1"
if [ ! -f "$work/alpha1/base.pt" ]; then
    cp "$work/alpha0/base.pt" "$work/alpha0/base.pt.state" "$work/alpha1/"
fi
"$here/train_tiny_series.sh" cca 1 "$work/alpha1" "$base" "$tune"
# only the four rate points, not the shared base
for a in alpha1 alpha0; do
    mkdir -p "$work/$a-points"
    cp "$work/$a"/lmbda-*.pt "$work/$a-points/"
done
licbench run --dataset kodak --out "$work/kodak" --store "$work/store.sqlite" \
    --anchor "cca:ckpt=$work/alpha0-points,config=tiny" \
    --codecs "cca:ckpt=$work/alpha1-points,config=tiny" jpeg
python - "$work/kodak/summary.json" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
bd = summary["bd_rate"]
print(f"anchor (alpha=0): {bd['anchor']}  method: {bd['method']}")
for metric in ("psnr-rgb", "ms-ssim-rgb"):
    for codec, value in bd[metric].items():
        print(f"BD-rate {metric} of {codec}: {value:+.2f}%")
PY
