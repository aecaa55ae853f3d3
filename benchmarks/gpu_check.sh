#!/usr/bin/env bash
# The GPU check: everything this project can only verify on an NVIDIA GPU, in one command that
# finishes inside 8 minutes and writes a short report.
#
#   here, with network, once:      bash benchmarks/gpu_check.sh --fetch-wheels
#   on the GPU machine (no network needed), in the repository root:
#                                  bash benchmarks/gpu_check.sh
#
# It runs, each under its own time limit:
#   1. the environment: the GPU, CuPy, NumPy, the compilers, and what ts.cuda.why_not() says;
#   2. the whole test suite with new tensors on the GPU (pytest --device cuda);
#   3. the kernel-vs-reference properties of the CUDA kernels, with many more examples
#      (tests/test_kernels.py, its cuda cases, HYPOTHESIS_PROFILE=thorough);
#   4. the GPU benchmark (benchmarks/gpu_lstm.py).
# The report is $OUT/gpu_report.md (./gpu_report/ where OUT is unset), beside the full logs;
# the exit status is 0 only when every step passed. Python packages the GPU machine lacks
# (graphviz's Python package) come from wheels in .whl/ (git-ignored), fetched by
# --fetch-wheels; the package itself runs from this checkout (PYTHONPATH), not installed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=.whl

if [ "${1:-}" = "--fetch-wheels" ]; then
  # pure-Python wheels, any Python 3: the GPU machine's Python is 3.12
  mkdir -p "$WHEELS"
  "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux2014_x86_64 -d "$WHEELS" "graphviz>=0.20"
  ls -l "$WHEELS"
  exit 0
fi

REPORT_DIR=${OUT:-gpu_report}
mkdir -p "$REPORT_DIR"
REPORT="$REPORT_DIR/gpu_report.md"
STATUS=0
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TINYGRAD_SEQ_CACHE=${TINYGRAD_SEQ_CACHE:-/tmp/tinygrad_seq_cache}

# a pure-Python wheel is a zip Python imports from directly: no pip, nothing to install
CARRIED=""
for wheel in "$WHEELS"/*-py3-none-any.whl; do
  [ -f "$wheel" ] || continue
  export PYTHONPATH="$PYTHONPATH:$PWD/$wheel"
  CARRIED="$CARRIED $(basename "$wheel")"
done

{
  echo "# GPU check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo
  echo "wheels carried in (on PYTHONPATH):${CARRIED:- none}"
  echo
} >"$REPORT"

# one step: its name, its time limit in seconds, its log file, then the command
step() {
  local name=$1 limit=$2 log=$3
  shift 3
  local start=$SECONDS rc
  timeout --kill-after=10 "$limit" "$@" >"$REPORT_DIR/$log" 2>&1
  rc=$?
  local took=$((SECONDS - start))
  [ $rc -eq 124 ] && rc="124 (stopped at its ${limit} s limit)"
  [ "$rc" != 0 ] && STATUS=1
  {
    echo "## $name: exit status $rc, $took s (log: $log)"
    echo
    echo '```'
    grep -E "passed|failed|error|Error|FAILED|ERROR|skipped" "$REPORT_DIR/$log" | grep -v "^  " | tail -n 25
    tail -n 12 "$REPORT_DIR/$log"
    echo '```'
    echo
  } >>"$REPORT"
}

step "environment" 60 environment.log bash -c "
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  nvcc --version | tail -n 1 || true
  command -v g++ c++ clang++ || true
  $PY - <<'PY'
import numpy, sys
print('python', sys.version.split()[0], 'numpy', numpy.__version__)
try:
    import cupy
    print('cupy', cupy.__version__, 'CUDA runtime', cupy.cuda.runtime.runtimeGetVersion())
except Exception as e:
    print('cupy: not usable:', e)
import graphviz, tinygrad_seq as ts
from tinygrad_seq.kernels import host
print('graphviz (python)', graphviz.__version__)
print('ts.cuda.why_not():', ts.cuda.why_not())
print('compiled CPU kernels:', host.why_not() or 'yes')
sys.exit(0 if ts.cuda.is_available() else 3)
PY"
if [ "$STATUS" != 0 ]; then
  echo "no usable GPU here (see the environment step); nothing else was run" >>"$REPORT"
  cat "$REPORT"
  exit 2
fi

# xdist (when installed) spreads the suite over a few processes; they share the one GPU
PARALLEL=()
"$PY" -c "import xdist" 2>/dev/null && PARALLEL=(-n 4)
step "test suite on the GPU (pytest --device cuda)" 270 suite.log \
  "$PY" -m pytest --device cuda -q -rfEs "${PARALLEL[@]}" --durations=10 \
  --junitxml="$REPORT_DIR/suite.xml"
step "CUDA kernels against the reference (thorough properties)" 100 kernels.log \
  env HYPOTHESIS_PROFILE=thorough "$PY" -m pytest -q -rfE tests/test_kernels.py -k "cuda and not cpu"
step "GPU benchmark (benchmarks/gpu_lstm.py)" 100 benchmark.log "$PY" benchmarks/gpu_lstm.py

echo "overall: $([ $STATUS = 0 ] && echo 'every step passed' || echo 'some step FAILED')" \
  >>"$REPORT"
cat "$REPORT"
exit $STATUS
