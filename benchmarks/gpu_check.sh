#!/usr/bin/env bash
# The prepared GPU check of issue 17: from a bare checkout on a GPU machine, in under 8 minutes,
#   install -> CUDA tests -> anchors (zoo vs torchvision, vs torch.compile of torchvision) -> the sweep -> summary.
#
#   bash benchmarks/gpu_check.sh OUT_DIR            # on the GPU machine, from the repository root
#   GPU_CHECK_DRY=1 bash benchmarks/gpu_check.sh OUT_DIR   # a tiny sweep on the CPU (< 1 min): checks the logic
#
# Every JSON lands in OUT_DIR (zoo bench --json reports, anchors, pytest's junit XML, log.txt); the summary at the
# end (% of peak, e2e/forward ratio, the issue's goals) is also written to OUT_DIR/summary.txt.
# Environment:
#   GPU_CHECK_PYTHON=/path/to/python   use this interpreter (zoo installed in it) instead of installing
#   GPU_CHECK_BUDGET=480               seconds for the whole run; stages that would start past it are skipped
#   GPU_CHECK_FULL=1                   also try torch.compile max-autotune-no-cudagraphs in --optimize (minutes)
# Install: `make install` (PyPI). Where PyPI does not answer, it says so plainly and falls back to a venv that
# sees the machine's own packages (--system-site-packages) with the zoo installed from this checkout offline
# (pip --no-index --no-deps --no-build-isolation); the run goes on only if torch, torchvision and zoo import.
set -uo pipefail

OUT=${1:-}
if [ -z "$OUT" ]; then
  echo "usage: bash benchmarks/gpu_check.sh OUT_DIR   (GPU_CHECK_DRY=1 for a CPU dry run)" >&2
  exit 2
fi
cd "$(dirname "$0")/.." || exit 2
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
if compgen -G "$OUT/*.json" >/dev/null || [ -e "$OUT/summary.txt" ]; then  # zoo bench --json never replaces a file
  echo "error: $OUT holds an earlier run's results: give a new OUT_DIR" >&2
  exit 2
fi
LOG="$OUT/log.txt"
: >"$LOG"
DRY=${GPU_CHECK_DRY:-0}
BUDGET=${GPU_CHECK_BUDGET:-480}
FULL=${GPU_CHECK_FULL:-0}
STATUS=0
export ZOO_HOME="$OUT/zoo-home"            # the --optimize cache and any imported weights: inside OUT_DIR
export PYTHONWARNINGS=ignore

say() { echo "== [$(printf '%3d' "$SECONDS")s] $*" | tee -a "$LOG"; }
fail() { say "FAILED: $*"; STATUS=1; }
left() { echo $((BUDGET - SECONDS)); }
# run a stage only when at least $1 seconds of the budget are left; the stage gets at most what is left
stage() {
  local need=$1; shift
  local name=$1; shift
  if [ "$(left)" -lt "$need" ]; then
    say "SKIPPED $name: $(left)s of the ${BUDGET}s budget left, it needs about ${need}s"
    return 0
  fi
  say "$name"
  timeout --kill-after=10 "$(left)" "$@" >>"$LOG" 2>&1
  local rc=$?
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then fail "$name: out of time"; elif [ $rc -ne 0 ]; then fail "$name (exit $rc; see log.txt)"; fi
  return 0
}

# ------------------------------------------------------------------ 1. install
PY=${GPU_CHECK_PYTHON:-}
if [ -n "$PY" ]; then
  say "install: using GPU_CHECK_PYTHON=$PY"
elif [ "$DRY" = 1 ] && [ -x .venv/bin/python ]; then
  PY=.venv/bin/python
  say "install: dry run, using the existing .venv"
else
  say "install: make install (PyPI)"
  if timeout 300 make install >>"$LOG" 2>&1; then
    PY=.venv/bin/python
  else
    say "INSTALL FAILED: 'make install' did not finish (PyPI unreachable or a package missing; last lines below)"
    tail -n 15 "$LOG" | sed 's/^/    /'
    say "install: fallback: a venv over this machine's own packages, the zoo from this checkout, offline"
    PYTHON_SYS=$(command -v python3.11 || command -v python3)
    "$PYTHON_SYS" -m venv --system-site-packages .venv-gpucheck >>"$LOG" 2>&1 &&
      .venv-gpucheck/bin/python -m pip install -q --no-index --no-deps --no-build-isolation -e . \
        -e examples/zoo-mobilenet >>"$LOG" 2>&1
    PY=.venv-gpucheck/bin/python
  fi
fi
if ! "$PY" -c "import torch, torchvision, zoo, zoo_classic" >>"$LOG" 2>&1; then
  say "INSTALL FAILED: $PY cannot import torch, torchvision and zoo; nothing else can run (see $LOG)"
  exit 2
fi
"$PY" - <<'EOF' | tee -a "$LOG" | tee "$OUT/env.txt"
import torch
print(f"python ok: torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"GPU {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")
EOF
HAS_CUDA=$("$PY" -c "import torch; print(int(torch.cuda.is_available()))" 2>/dev/null || echo 0)
if [ "$DRY" != 1 ] && [ "$HAS_CUDA" != 1 ]; then
  say "no CUDA GPU visible to $PY: this check is for a GPU machine (GPU_CHECK_DRY=1 runs the CPU dry run)"
  exit 2
fi
ZOO=("$PY" -m zoo.cli)

# ------------------------------------------------------------------ 2. settings
if [ "$DRY" = 1 ]; then
  # the logic, not the numbers: small models, 32 px, one call per row, one thread (2 shared cores here)
  export OMP_NUM_THREADS=1
  DEVICE=cpu; BATCHES=1,2; PRECISIONS="bf16"; SIZE=(--size 32); ITERS=(--iters 1 --warmup 0 --threads 1)
  OPT_ITERS=("${ITERS[@]}")
  MODELS="resnet18 yolov3-tiny"; OPT_MODEL=resnet18; PICKS=""; OPT_COMPILE=off
  ANCHOR=(--device cpu --batch-sizes 1 --size 32 --precision bf16 --rounds 1 --iters 1); COMPILE_ANCHOR=()
  TESTS=(tests/test_bench_cuda.py tests/test_optimize_cuda.py tests/test_device_pipeline.py)
  PIPE=(--device cpu --batch-sizes 1,2 --rounds 1 --iters 1)
  XDIST=(-p no:xdist)
else
  DEVICE=cuda; BATCHES=1,32; PRECISIONS="fp16 bf16"; SIZE=(); ITERS=(--iters 20 --warmup 3 --time-budget 0.5)
  OPT_ITERS=(--iters 10 --warmup 2)  # per --optimize candidate: 12 eager candidates per model and batch size
  MODELS="resnet50 vgg16 densenet121 yolov3 yolov3-tiny faster-rcnn-r50-fpn"; OPT_MODEL=resnet50
  # one model of each newer family, where the family is installed
  PICKS="cornernet-squeeze openpose-body cyclegan-horse2zebra mtcnn"
  OPT_COMPILE="reduce-overhead"; [ "$FULL" = 1 ] && OPT_COMPILE="default,reduce-overhead,max-autotune-no-cudagraphs"
  ANCHOR=(--device cuda --batch-sizes 1,32 --precision fp16 --rounds 5 --iters 20)
  COMPILE_ANCHOR=(--compile default,reduce-overhead)
  TESTS=(tests/test_bench_cuda.py tests/test_optimize_cuda.py tests/test_gpu_flags.py tests/test_bench_harness.py
         tests/test_eval_dist.py tests/plugins/yolo/test_yolo_opencv_parity.py tests/test_device_pipeline.py)
  PIPE=(--device cuda --batch-sizes 1,32 --rounds 3 --iters 10)
  XDIST=(-n 4)
fi
KNOWN=$("$PY" -c "import zoo; print('\n'.join(zoo.list_models()))" 2>>"$LOG")
for m in $PICKS; do
  if grep -qx "$m" <<<"$KNOWN"; then MODELS="$MODELS $m"; else say "family model $m not installed: left out"; fi
done
say "device $DEVICE; models: $MODELS; batch sizes $BATCHES; precisions $PRECISIONS"

# ------------------------------------------------------------------ 3. the CUDA tests
stage 60 "tests: ${TESTS[*]}" "$PY" -m pytest -q "${XDIST[@]}" --basetemp="$OUT/pytest-tmp" \
  --junitxml="$OUT/tests.xml" "${TESTS[@]}"

# ------------------------------------------------------------------ 4. anchors (the issue's goals need them)
stage 30 "anchor: zoo vs torchvision resnet50, interleaved" "$PY" benchmarks/gpu_anchor_resnet50.py \
  "${ANCHOR[@]}" "${COMPILE_ANCHOR[@]}" --json "$OUT/anchor_resnet50.json"

# the device input pipeline (issue 17 item 1): the old per-image host path against the batched device path
stage 30 "input pipeline: host per-image vs device batched" "$PY" benchmarks/device_pipeline.py "${PIPE[@]}" \
  --json "$OUT/device_pipeline.json"

# ------------------------------------------------------------------ 5. the sweep and --optimize, by priority
# (the goals need the first precision's default rows and $OPT_MODEL's --optimize rows; the rest comes after)
sweep() {
  stage 40 "sweep $1 default: $MODELS" "${ZOO[@]}" bench $MODELS --device "$DEVICE" --batch-size "$BATCHES" \
    --precision "$1" "${SIZE[@]}" "${ITERS[@]}" -q --json "$OUT/sweep_${1}_default.json"
}
FIRST=${PRECISIONS%% *}
sweep "$FIRST"
stage 120 "optimize $OPT_MODEL (torch.compile: $OPT_COMPILE)" "${ZOO[@]}" bench "$OPT_MODEL" --device "$DEVICE" \
  --batch-size "$BATCHES" "${SIZE[@]}" "${OPT_ITERS[@]}" --optimize --optimize-compile "$OPT_COMPILE" -q \
  --json "$OUT/optimize_compile.json"
for p in $PRECISIONS; do
  [ "$p" = "$FIRST" ] || sweep "$p"
done
# every model, eager candidates only (precision x channels_last x fuse): compiling costs minutes per model
stage 60 "optimize (eager candidates): $MODELS" "${ZOO[@]}" bench $MODELS --device "$DEVICE" \
  --batch-size "$BATCHES" "${SIZE[@]}" "${OPT_ITERS[@]}" --optimize --optimize-compile off -q \
  --json "$OUT/optimize_eager.json"

# ------------------------------------------------------------------ 7. summary
say "summary"
"$PY" benchmarks/gpu_check_summary.py "$OUT" | tee "$OUT/summary.txt" | tee -a "$LOG"
say "done in ${SECONDS}s (budget ${BUDGET}s); JSON in $OUT; status $STATUS"
exit $STATUS
