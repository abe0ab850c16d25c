#!/usr/bin/env bash
# Train one series of checkpoints on CID22 on the CPU, as shipped in
# licbench/codecs/learned/weights/: seven λ, CompressAI's qualities 1-6 (0.0018 ... 0.0483) and
# one halving below (0.0009: on the Kodak sample, 0.0018 → 0.0483 spans only 4.4 dB of PSNR for
# convnext-charm/small, whose transforms cap PSNR near 33.8 dB; the extra link adds the low end).
#
#   benchmarks/train_tiny_series.sh ARCH[/CONFIG] ALPHA OUT_DIR [INIT] [TOP_STEPS] [STEPS]
#
# CONFIG: the architecture's configuration, tiny by default (small: 128 latent channels; see
# benchmarks/transform_ceiling.py for why the tiny ones cap PSNR). The shipped bundles:
#   cca/small 1 OUT '' 15000 1200   and   convnext-charm/small 1 OUT '' 20000 1500
#
# Why this order: a model's rate follows λ within a few hundred steps, its distortion does
# not. Fine-tuned upwards from a mid-range base, the top point's PSNR stayed near the base's
# (a 1.7 dB span over a 5× rate span), so the long training is spent at the top λ, 0.0483
# (TOP_STEPS, default 12000, lr 1e-3, from INIT or from scratch; OUT/top/), where the synthesis
# must learn detail; each lower λ is then one link of a chain downwards, 0.0483 → 0.025 → 0.013
# → 0.0067 → 0.0035 → 0.0018 → 0.0009, warm-started from the link above (STEPS each, default
# 1500, lr 5e-4), which only has to drop bits. The top point itself is one more link, at 0.0483,
# from the long run: the long run ends with its rate unsettled (cca/small at 15,000 steps: 1.10
# bpp for 32.44 dB on the Kodak sample, above the 0.68 bpp and 32.58 dB of the 0.025 link made
# from it; after the link, 0.81 bpp and 32.88 dB). The lr falls tenfold for the last 10% of
# every run. One process, one thread: on 2 cores two series (two codecs) run side by side.
#
# Data: $CID22 (default ../shared/datasets/cid22-512), training/ and validation/. Never Kodak,
# CLIC or Tecnick (licbench train refuses them). Each command resumes its checkpoint when it
# exists, so the script can be run again after an interruption. Every checkpoint records the
# one it started from (warm_start_from, nested), which export_bundled.py writes to training.json.
set -euo pipefail
arch=${1%%/*}; config=tiny; [[ $1 == */* ]] && config=${1#*/}
alpha=$2; out=$3; init=${4:-}; top_steps=${5:-12000}; steps=${6:-1500}
cid22=${CID22:-$(dirname "$0")/../../shared/datasets/cid22-512}
common=(--arch "$arch" --config "$config" --alpha "$alpha" --data "$cid22/training"
        --val "$cid22/validation" --crop 128 --batch-size 4 --threads 1
        --val-every 500 --save-every 250 --no-progress)
mkdir -p "$out"
train() { # OUT STEPS LMBDA LR [INIT]
    local ckpt=$1 n=$2 lmbda=$3 rate=$4 from=${5:-}
    if [ -f "$ckpt.state" ]; then
        licbench train "${common[@]}" --lr "$rate" --lmbda "$lmbda" --steps "$n" --out "$ckpt" --resume "$ckpt"
    elif [ -n "$from" ]; then
        licbench train "${common[@]}" --lr "$rate" --lmbda "$lmbda" --steps "$n" --out "$ckpt" --init "$from"
    else
        licbench train "${common[@]}" --lr "$rate" --lmbda "$lmbda" --steps "$n" --out "$ckpt"
    fi
}
if [ -f "$out/lmbda-0.0483.pt.state" ] && [ ! -d "$out/top" ]; then
    # the layout before the top link: there the long run is OUT/lmbda-0.0483.pt, and resuming it
    # as the 1,500-step top link would do nothing and keep it as the top point
    echo "$out: move lmbda-0.0483.pt* into $out/top/ first (the long run lives there now)" >&2
    exit 2
fi
mkdir -p "$out/top"
top=$out/top/lmbda-0.0483.pt
train "$top" "$top_steps" 0.0483 1e-3 "$init" >> "$out/top/lmbda-0.0483.log" 2>&1
from=$top
for lmbda in 0.025 0.013 0.0067 0.0035 0.0018 0.0009; do
    train "$out/lmbda-$lmbda.pt" "$steps" "$lmbda" 5e-4 "$from" >> "$out/lmbda-$lmbda.log" 2>&1
    from=$out/lmbda-$lmbda.pt
done
train "$out/lmbda-0.0483.pt" "$steps" 0.0483 5e-4 "$top" >> "$out/lmbda-0.0483.log" 2>&1
echo "series done: $out (from ${init:-scratch})"
