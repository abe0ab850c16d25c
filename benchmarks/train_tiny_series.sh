#!/usr/bin/env bash
# Train one series of tiny checkpoints on CID22 on the CPU, as shipped in
# licbench/codecs/learned/weights/: six λ, CompressAI's qualities 1-6 (0.0018 ... 0.0483), each
# warm-started from its neighbour towards the ends of the range, so a few thousand steps move each
# point to its own rate.
#
#   benchmarks/train_tiny_series.sh ARCH ALPHA OUT_DIR [INIT] [STEPS] [LR]
#
# INIT: a checkpoint at λ=0.013 to start from (the bundled q3.pt of the previous series); without
# it a base model is first trained from scratch at λ=0.013 (4,000 steps at lr 1e-3). STEPS
# (default 1500) are the steps of each link of the chains: 0.013 → 0.025 → 0.0483 (the last
# with 4/3 of them), 0.013 → 0.0067 → 0.0035 → 0.0018, and 0.013 itself, the three chains in
# parallel. One thread per process: on 2 cores a tiny model gains ~10% from a second thread.
#
# Data: $CID22 (default ../shared/datasets/cid22-512), training/ and validation/. Never Kodak,
# CLIC or Tecnick (licbench train refuses them). Each command resumes its checkpoint when it
# exists, so the script can be run again after an interruption.
set -euo pipefail
arch=$1; alpha=$2; out=$3; init=${4:-}; steps=${5:-1500}; lr=${6:-5e-4}
cid22=${CID22:-$(dirname "$0")/../../shared/datasets/cid22-512}
common=(--arch "$arch" --config tiny --alpha "$alpha" --data "$cid22/training"
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
if [ -z "$init" ]; then
    train "$out/base.pt" 4000 0.013 1e-3
    init=$out/base.pt
fi
chain() { # λ... : each link starts from the previous one's checkpoint
    local from=$init lmbda
    for lmbda in "$@"; do
        local n=$steps
        [ "$lmbda" = 0.0483 ] || [ "$lmbda" = 0.0018 ] && n=$((steps * 4 / 3))
        train "$out/lmbda-$lmbda.pt" "$n" "$lmbda" "$lr" "$from" > "$out/lmbda-$lmbda.log" 2>&1
        from=$out/lmbda-$lmbda.pt
    done
}
chain 0.013 & chain 0.025 0.0483 & chain 0.0067 0.0035 0.0018 &
wait
echo "series done: $out (from $init)"
