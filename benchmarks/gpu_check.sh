#!/usr/bin/env bash
# GPU check for issue 8: the training examples' smoke runs on CUDA (--smoke --smoke-device), the GPU part of the
# benchmark, then ~3 minutes of cub256-sized training on CaptionedShapes at 256², then (time permitting) the
# torch.compile variant. Finishes within 8 minutes; fails early without CUDA.
#
#   bash benchmarks/gpu_check.sh              # results in $OUT (if set, e.g. on the device runner) or benchmarks/gpu_results
#   PYTHON=/path/to/python bash benchmarks/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 FUSIONBLOCKS_DISABLE_PLUGINS=1 PYTHONUNBUFFERED=1
# the first interpreter that has torch: $PYTHON, else python3 (the device image's PyTorch), else python
PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null && "$candidate" -c "import torch" 2>/dev/null; then PY=$candidate; break; fi
    done
fi
[[ -n "$PY" ]] || { echo "FATAL: no python with torch found (set PYTHON=...)" >&2; exit 3; }
RES=${OUT:-benchmarks/gpu_results}
mkdir -p "$RES"
START=$(date +%s)
BUDGET=${GPU_CHECK_BUDGET_S:-465}   # stop starting new work after this many seconds (8 min = 480 s)

left() { echo $(( BUDGET - ($(date +%s) - START) )); }
cap() { local want=$1 l; l=$(left); if (( l < want )); then echo "$l"; else echo "$want"; fi; }

echo "== 1. CUDA present? =="
"$PY" - <<'PYEOF'
import sys
import torch
if not torch.cuda.is_available():
    print("FATAL: torch.cuda.is_available() is False: this script needs a CUDA GPU", file=sys.stderr)
    sys.exit(3)
print("torch", torch.__version__, "| cuda", torch.version.cuda, "|", torch.cuda.get_device_name(0))
x = torch.randn(1024, 1024, device="cuda")
torch.cuda.synchronize()
print("cuda ok:", float((x @ x).abs().mean()))
PYEOF
"$PY" -c "import fusionblocks, timm, einops; print('imports ok')"

STATUS=0
echo "== 1b. the training examples' smoke runs on CUDA (placement, 2 workers + pinned memory, bf16 autocast) =="
for example in train_ffgan train_dfgan_variant; do
    T=$(cap 45)
    if ! timeout "$T" "$PY" "examples/$example.py" --smoke --smoke-device --device cuda --workers 2 \
            --precision auto --steps 5 --out "$RES/smoke_$example" 2>&1 | tee "$RES/smoke_$example.log"; then
        echo "!! $example --smoke --smoke-device failed or timed out after ${T}s (see $RES/smoke_$example.log)"; STATUS=1
    fi
    rm -rf "$RES/smoke_$example/checkpoints"
done

echo "== 2. benchmark: reference vs fusionblocks on CUDA (no compile; fused Adam as the trainer), batch 4 and 16 =="
T=$(cap 175)
# the JSON is rewritten after every case, so a timeout keeps what was measured (training first)
if ! timeout "$T" "$PY" benchmarks/run.py --device cuda --no-compile --batches 4,16 --repeats 5 --warmup 2 \
        --train-variants fp32,bf16,bf16+channels_last --rprec-samples 500 \
        --only train,sampling,ffblock,wordloss,rprecision --json "$RES/bench_cuda.json" 2>&1 | tee "$RES/bench_cuda.log"; then
    echo "!! benchmark step failed or timed out after ${T}s (see $RES/bench_cuda.log)"; STATUS=1
fi

echo "== 3. cub256-sized training on CaptionedShapes at 256^2 (~3 min) =="
T=$(cap 235)
SECS=$(( T - 55 )); (( SECS > 180 )) && SECS=180
if (( SECS < 30 )); then
    echo "!! not enough time left for the training step"; STATUS=1
elif ! timeout "$T" "$PY" benchmarks/gpu_train.py --seconds "$SECS" --batch-size 16 --workers 8 \
        --out "$RES/train_run" 2>&1 | tee "$RES/gpu_train.log"; then
    echo "!! training step failed or timed out after ${T}s (see $RES/gpu_train.log)"; STATUS=1
fi
rm -rf "$RES/train_run/checkpoints"   # large; the JSON, metrics.jsonl and sample grids stay

echo "== 4. torch.compile variant of the training iteration, batch 16 (if time is left) =="
T=$(cap 120)
if (( T >= 60 )); then
    timeout "$T" "$PY" benchmarks/run.py --device cuda --only train --batches 16 --repeats 5 --warmup 3 --no-flops \
        --train-variants "bf16+channels_last,bf16+channels_last+compile" --json "$RES/bench_cuda_compile.json" \
        2>&1 | tee "$RES/bench_cuda_compile.log" || echo "!! compile step failed or timed out after ${T}s (not fatal)"
else
    echo "skipped: only ${T}s left"
fi
echo "== done in $(( $(date +%s) - START )) s, status $STATUS; results in $RES =="
exit $STATUS
