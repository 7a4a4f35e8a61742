#!/usr/bin/env bash
# The GPU tables of `make bench` (issue #9) in one call on a lent GPU machine.
#
# The device machine has PyTorch with CUDA as `python3` but no network; of deblurlab's needs it
# lacks only imagecodecs (LZW TIFFs, data section). Here, once, in the repository root:
#
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux_2_28_x86_64 -d .whl imagecodecs==2026.3.6
#
# then one device call, with carry [".whl"] and timeout_s 590:
#
#   bash benchmarks/gpu_check.sh
#
# and back here, from the folder the call's files were copied to:
#
#   mkdir -p benchmarks/results/cuda && cp FILES_AT/*.md FILES_AT/machine.json benchmarks/results/cuda/
#   rm benchmarks/results/cuda/RESULTS.md; make bench BENCH_ARGS=--assemble
#
# Each section runs in its own process under its own time limit, so a slow or failing section
# costs only itself. Section files, machine.json, RESULTS.md and log.txt go to $OUT (which the
# device tool brings back) or build/bench-gpu. SECTIONS="name:seconds ...", DEVICE and
# BENCH_ARGS (appended to every bench.py call) change the plan, e.g. for a dry run on the CPU:
#   DEVICE=cpu SECTIONS="data:300" BENCH_ARGS="--quick --budget 0.2" bash benchmarks/gpu_check.sh
set -u
cd "$(dirname "$0")/.."
out=${OUT:-build/bench-gpu}
mkdir -p "$out" && rm -f "$out"/*.md "$out"/log.txt
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD/lib${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$out/log.txt"
# 530 s in all: inside the device tool's 600 s per call, with the imports and the install
status=0
for plan in ${SECTIONS:-models:150 fastpaths:200 tiled:120 data:60}; do
  name=${plan%%:*} limit=${plan##*:}
  echo "gpu_check: section $name (limit $limit s)" | tee -a "$out/log.txt"
  # shellcheck disable=SC2086  # BENCH_ARGS is a list of options
  timeout "$limit" "$py" benchmarks/bench.py --device "${DEVICE:-cuda}" --only "$name" \
    --budget 0.5 --out-dir "$out" ${BENCH_ARGS:-} >> "$out/log.txt" 2>&1
  rc=$?
  if [ -f "$out/$name.md" ]; then
    echo "gpu_check: section $name done" | tee -a "$out/log.txt"
  else
    echo "gpu_check: section $name FAILED (exit $rc; 124 = over its $limit s)" | tee -a "$out/log.txt"
    status=1
  fi
done
tail -n 40 "$out/log.txt"
exit $status
