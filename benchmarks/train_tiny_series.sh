#!/usr/bin/env bash
# Train one series of tiny checkpoints (4 rate points) on CID22 on the CPU, as shipped in
# licbench/codecs/learned/weights/: a base model at the middle λ, then each λ warm-started from it.
#
#   benchmarks/train_tiny_series.sh ARCH ALPHA OUT_DIR [BASE_STEPS] [FINETUNE_STEPS]
#
# One thread per process: on 2 cores a tiny model gains ~10% from a second thread, so two series
# side by side train ~2x faster than one after the other.
#
# Data: $CID22 (default ../shared/datasets/cid22-512), training/ and validation/. Never Kodak,
# CLIC or Tecnick (licbench train refuses them).
set -euo pipefail
arch=$1; alpha=$2; out=$3; base_steps=${4:-4000}; tune_steps=${5:-600}
cid22=${CID22:-$(dirname "$0")/../../shared/datasets/cid22-512}
common=(--arch "$arch" --config tiny --alpha "$alpha" --data "$cid22/training"
        --val "$cid22/validation" --crop 128 --batch-size 4 --threads 1
        --val-every 500 --save-every 200 --no-progress)
mkdir -p "$out"
# resume when a checkpoint exists, so the script can be run again after an interruption
train() { # OUT STEPS LMBDA [INIT]
    local ckpt=$1 steps=$2 lmbda=$3 init=${4:-}
    if [ -f "$ckpt.state" ]; then
        licbench train "${common[@]}" --lr "$lr" --lmbda "$lmbda" --steps "$steps" --out "$ckpt" --resume "$ckpt"
    elif [ -n "$init" ]; then
        licbench train "${common[@]}" --lr "$lr" --lmbda "$lmbda" --steps "$steps" --out "$ckpt" --init "$init"
    else
        licbench train "${common[@]}" --lr "$lr" --lmbda "$lmbda" --steps "$steps" --out "$ckpt"
    fi
}
lr=1e-3 train "$out/base.pt" "$base_steps" 0.013
for lmbda in 0.0035 0.0067 0.013 0.025; do
    lr=1e-4 train "$out/lmbda-$lmbda.pt" "$tune_steps" "$lmbda" "$out/base.pt"
done
echo "series done: $out"
