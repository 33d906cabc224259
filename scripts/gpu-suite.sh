#!/usr/bin/env bash
# GPU suite: everything that only a GPU can show, in one command on the device machine
# (the library's `device` tool; see ../shared/device/README.md). Steps, each logged to $OUT:
#   preflight     nvidia-smi, cuBLAS on the loader path, backendInfo() must list 'cuda'
#   native-tests  SCM_REQUIRE_CUDA=1 build/Release/scm_native_tests   (all native tests)
#   vitest        SCM_REQUIRE_CUDA=1 vitest run                       (the whole TS suite)
#   bench         node dist/bench/main.js attention                   (CUDA + CPU cases; JSON)
#   peer-compare  our CUDA attention JVP (--dump) against float64 numpy / torch.func.jvp
#   peer-time     PyTorch math attention forward / JVP timings (fp32, bf16), JSON
# and prints a short summary table last. Exit status: 0 only when every step passed.
#
# 1. Here (the machine with Node), from the repository root, with a CUDA build of the addon
#    (SCM_CUDA=on; build/Release must hold scm_native.node, libscm_cuda.so, scm_native_tests):
#        npm run build:ts && scripts/gpu-suite.sh --pack      # SCM_BUILD_DIR=... for another build folder
#    --pack runs ../shared/device/pack-node.sh (Node into .device/, git-ignored) once and puts
#    build/Release's three binaries, dist/ and node_modules (without the TypeScript compiler,
#    type packages and build-only tools) into .device/suite.tar.xz. It is needed because
#    carrying "build" (object files) and "node_modules" as they are exceeds the device tool's
#    64 MiB limit; if they fit (a trimmed build folder), carrying them works as well, and the
#    suite uses what it finds.
# 2. The device call (one call; the step limits add up to 540 s, typically far less):
#        run(command: "source .device/node-env.sh && bash scripts/gpu-suite.sh",
#            carry: [".device"], timeout_s: 600)
#    The suite also takes build/, node_modules/ and dist/ when they are carried as they are
#    (carry: [".device", "build", "node_modules", "dist"]), but in this checkout build/ (85 MB
#    of objects) and node_modules/ (82 MB) together are over the 64 MiB that travels: use
#    --pack (.device was 37 MiB in all when tried: node 24 MiB, suite 14 MiB).
#    From $OUT come back (7 files): suite.log (environment, steps, the summary table at its
#    end), native-tests.log, vitest.log, bench-attention.log, attention-cuda-cpu-DATE.json,
#    peer.log, torch-peer.json. Record the numbers (device, date) in bench/results/.
#
# Without a GPU (here) the suite stops at the preflight step with the reason and exit 1.
# SCM_SUITE_CPU_CHECK=1 checks the suite's own plumbing on a machine without a GPU: no GPU
# preflight, SCM_REQUIRE_CUDA unset, vitest only on test/bench-attention.test.ts, the bench
# with --quick, no torch timing; its summary says CPU CHECK and is no GPU result.
# Step time limits (seconds; they sum under the device tool's 600 s per command) can be
# changed with SCM_SUITE_LIMITS="preflight native vitest bench compare time".
set -u -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# ---------------------------------------------------------------- --pack (run here)
if [ "${1:-}" = "--pack" ]; then
  set -e
  build=${SCM_BUILD_DIR:-build}
  for f in scm_native.node libscm_cuda.so scm_native_tests; do
    [ -f "$build/Release/$f" ] || { echo "gpu-suite --pack: $build/Release/$f is missing (build with SCM_CUDA=on: cmake --build $build --target scm_native scm_cuda scm_native_tests)" >&2; exit 1; }
  done
  [ -f dist/bench/main.js ] || { echo "gpu-suite --pack: dist/ is not built (npm run build:ts)" >&2; exit 1; }
  [ -d node_modules/vitest ] || { echo "gpu-suite --pack: node_modules/vitest is missing (npm install)" >&2; exit 1; }
  if [ ! -f .device/node.xz ] || [ ! -f .device/node-env.sh ]; then
    "$root/../shared/device/pack-node.sh"
  fi
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/build/Release"
  cp "$build/Release/scm_native.node" "$build/Release/libscm_cuda.so" "$build/Release/scm_native_tests" "$stage/build/Release/"
  tar -C "$stage" -cf "$stage/suite.tar" build
  tar -rf "$stage/suite.tar" dist
  deref=()
  [ -L node_modules ] && deref=(--dereference)  # a linked node_modules (e.g. in a git worktree) travels as files
  tar -rf "$stage/suite.tar" "${deref[@]}" --exclude='node_modules/typescript' --exclude='node_modules/@typescript' \
    --exclude='node_modules/@types' --exclude='node_modules/cmake-js' --exclude='node_modules/node-addon-api' \
    --exclude='node_modules/.cache' node_modules
  xz -T2 -6 -c "$stage/suite.tar" > .device/suite.tar.xz
  du -ch .device/* | tail -n 20
  total=$(du -cb .device/* | tail -n 1 | cut -f1)
  if [ "$total" -gt $((60 * 1024 * 1024)) ]; then
    echo "gpu-suite --pack: .device holds $((total / 1048576)) MiB: too much to carry with the working tree (64 MiB)" >&2
    exit 1
  fi
  echo "packed; device call: run(command: \"source .device/node-env.sh && bash scripts/gpu-suite.sh\", carry: [\".device\"], timeout_s: 600)"
  exit 0
fi
if [ $# -gt 0 ]; then
  echo "usage: scripts/gpu-suite.sh [--pack]   (see the header)" >&2
  exit 2
fi

# ---------------------------------------------------------------- the suite (device machine)
OUT=${OUT:-/tmp/scm-gpu-suite}
mkdir -p "$OUT"
read -r LIM_PRE LIM_NATIVE LIM_VITEST LIM_BENCH LIM_COMPARE LIM_TIME <<<"${SCM_SUITE_LIMITS:-30 90 140 140 40 100}"
SUITE_LOG="$OUT/suite.log"
: > "$SUITE_LOG"
log() { echo "$*" | tee -a "$SUITE_LOG"; }

names=(); states=(); secs=(); notes=()
failed=0
record() {  # name state seconds note
  names+=("$1"); states+=("$2"); secs+=("$3"); notes+=("$4")
  [ "$2" = PASS ] || failed=1
  log "== $1: $2 (${3}s) $4"
}
# run_step NAME LIMIT LOGFILE COMMAND...: runs with a time limit, output to LOGFILE
run_step() {
  local name=$1 limit=$2 logfile=$3
  shift 3
  local t0=$SECONDS rc
  log "== $name: $* (limit ${limit}s, log $(basename "$logfile"))"
  timeout --kill-after=10 "$limit" "$@" >>"$logfile" 2>&1
  rc=$?
  local dt=$((SECONDS - t0)) note="exit $rc"
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && note="timed out after ${limit}s"
  if [ $rc -eq 0 ]; then record "$name" PASS "$dt" ""; else record "$name" FAIL "$dt" "$note"; tail -n 25 "$logfile" | sed 's/^/   | /'; fi
  return $rc
}

summary() {
  local text
  text=$(
    echo
    echo "GPU suite summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), ${DEVICE_NAME:-no GPU})"
    printf '%-13s %-5s %6s  %s\n' step state secs note
    for i in "${!names[@]}"; do printf '%-13s %-5s %6s  %s\n' "${names[$i]}" "${states[$i]}" "${secs[$i]}" "${notes[$i]}"; done
    if [ -n "${BENCH_JSON:-}" ] && [ -f "$BENCH_JSON" ] && command -v python3 >/dev/null; then
      python3 - "$BENCH_JSON" "$OUT/torch-peer.json" <<'PY' || true
import json, os, sys
bench = json.load(open(sys.argv[1]))
ours = bench["results"]
torch = json.load(open(sys.argv[2]))["results"] if os.path.exists(sys.argv[2]) else []
def get(rows, **kw):
    for r in rows:
        if all(r.get(k) == v for k, v in kw.items()) and not r.get("error"):
            return r
    return None
def cell(r):
    return f"{r['medianMs']:8.3f} {r['tflops']:6.2f}" if r else f"{'-':>8} {'-':>6}"
cuda = any(r["backend"] == "cuda" for r in ours)
print(f"\nattention bf16 on CUDA: ms and TFLOP/s per call, batch*heads*L = {bench.get('cudaRows')}" if cuda else
      "\nattention on the CPU (fp32, batch = heads = 1): ms and TFLOP/s per call")
print(f"{'d':>3} {'L':>5} | {'flash fwd':>15} | {'flash jvp':>15} | {'naive jvp':>15} | {'torch math jvp':>15}")
for d in (64, 128):
    for L in (256, 512, 1024, 2048, 4096, 8192):
        be = "cuda" if cuda else "cpu"
        row = [get(ours, backend=be, implementation="flash", L=L, headDim=d, **{"pass": "forward"}),
               get(ours, backend=be, implementation="flash", L=L, headDim=d, **{"pass": "jvp"}),
               get(ours, backend=be, implementation="naive", L=L, headDim=d, **{"pass": "jvp"}),
               get(torch, precision="bf16", L=L, headDim=d, **{"pass": "jvp"})]
        if any(row):
            print(f"{d:>3} {L:>5} | " + " | ".join(cell(r) for r in row))
failed = [r for r in ours if r.get("error")]
if failed:
    print(f"{len(failed)} benchmark case(s) failed, e.g. {failed[0]['error']}")
PY
    fi
    echo "logs and JSON: $OUT"
    if [ $failed -eq 0 ]; then echo "RESULT: PASS"; else echo "RESULT: FAIL"; fi
  )
  echo "$text" | tee -a "$SUITE_LOG"
  exit $failed
}

# ---- setup: unpack the --pack archive where carried paths are missing
if [ -f .device/node-env.sh ] && ! command -v node >/dev/null; then
  # shellcheck disable=SC1091
  source .device/node-env.sh
fi
if [ -f .device/suite.tar.xz ] && { [ ! -f build/Release/scm_native.node ] || [ ! -f dist/bench/main.js ] || [ ! -d node_modules/vitest ]; }; then
  log "== setup: unpacking .device/suite.tar.xz"
  if command -v xz >/dev/null; then xz -dc .device/suite.tar.xz | tar -x
  else python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(".device/suite.tar.xz"), sys.stdout.buffer)' | tar -x
  fi
fi

# ---- preflight
PY_LDP=${LD_LIBRARY_PATH:-}
t0=$SECONDS
pre_ok=1; pre_note=""
{
  echo "date: $(date -u)"; echo "host: $(uname -a)"
  command -v nvidia-smi >/dev/null && timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu --format=csv || echo "nvidia-smi: not available"
  command -v node >/dev/null && echo "node: $(node --version)" || echo "node: not on PATH"
  command -v python3 >/dev/null && python3 -c 'import sys; print("python", sys.version.split()[0])' 2>&1
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -n 1
} >> "$SUITE_LOG" 2>&1
CPU_CHECK=${SCM_SUITE_CPU_CHECK:-0}
if [ "$CPU_CHECK" = 1 ]; then
  log "== SCM_SUITE_CPU_CHECK=1: checking the suite's plumbing without a GPU (not a GPU result)"
fi
if [ "$CPU_CHECK" != 1 ] && { ! command -v nvidia-smi >/dev/null || ! timeout 20 nvidia-smi -L >/dev/null 2>&1; }; then
  pre_ok=0; pre_note="no NVIDIA GPU here (nvidia-smi missing or finds no device)"
elif ! command -v node >/dev/null; then
  pre_ok=0; pre_note="node is not on PATH (source .device/node-env.sh; make it with ../shared/device/pack-node.sh)"
elif [ ! -f build/Release/scm_native.node ] || [ ! -f build/Release/libscm_cuda.so ] || [ ! -f build/Release/scm_native_tests ]; then
  pre_ok=0; pre_note="build/Release lacks scm_native.node, libscm_cuda.so or scm_native_tests (carry a CUDA build, or scripts/gpu-suite.sh --pack)"
elif [ ! -f dist/bench/main.js ] || [ ! -d node_modules/vitest ]; then
  pre_ok=0; pre_note="dist/ or node_modules/vitest is missing (npm run build:ts; carry them or --pack)"
fi
DEVICE_NAME=$(timeout 20 nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
[ "$CPU_CHECK" = 1 ] && DEVICE_NAME="CPU CHECK, no GPU"
if [ $pre_ok -eq 1 ] && [ "$CPU_CHECK" != 1 ]; then
  # cuBLAS: the build's RUNPATH names a folder of the build machine; find the library here.
  need=$( (readelf -d build/Release/libscm_cuda.so 2>/dev/null || objdump -p build/Release/libscm_cuda.so 2>/dev/null) | grep -o 'libcublas\.so\.[0-9]*' | head -n 1)
  need=${need:-libcublas.so.13}
  if ! ldconfig -p 2>/dev/null | grep -q "$need"; then
    dirs="/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib $(ls -d /usr/local/cuda-*/lib64 /usr/local/cuda-*/targets/x86_64-linux/lib 2>/dev/null | tr '\n' ' ')"
    dirs="$dirs $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)"
    found=""
    for d in $dirs; do
      hit=$(find "$d" -maxdepth 5 -name "$need" 2>/dev/null | head -n 1)
      if [ -n "$hit" ]; then found=$(dirname "$hit"); break; fi
    done
    if [ -n "$found" ]; then
      # for our binaries only: the Python steps run with the machine's own LD_LIBRARY_PATH
      # (PY_LDP), so that torch keeps loading the CUDA libraries it was built with
      export LD_LIBRARY_PATH="$found${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      log "cuBLAS: $need from $found (LD_LIBRARY_PATH for our binaries)"
    else
      log "cuBLAS: $need not found on the loader path nor in the CUDA toolkit / Python packages"
    fi
  fi
  info=$(timeout "$LIM_PRE" node -e "import('./dist/src/index.js').then(m => { const i = m.backendInfo(); console.log(JSON.stringify(i)); process.exit(i.available.includes('cuda') ? 0 : 3); })" 2>&1)
  rc=$?
  log "backendInfo: $info"
  if [ $rc -ne 0 ]; then pre_ok=0; pre_note="the CUDA backend is not usable: $(echo "$info" | grep -o '"reason":"[^"]*"' || echo "$info" | tail -n 1)"; fi
fi
if [ $pre_ok -eq 1 ]; then record preflight PASS $((SECONDS - t0)) "${DEVICE_NAME}"; else record preflight FAIL $((SECONDS - t0)) "$pre_note"; summary; fi

# ---- native tests, vitest
REQUIRE=SCM_REQUIRE_CUDA=1; VITEST_FILES=(); BENCH_FLAGS=(); JSON_GLOB='attention-cuda*.json'
if [ "$CPU_CHECK" = 1 ]; then REQUIRE=SCM_SUITE_CPU_CHECK=1; VITEST_FILES=(test/bench-attention.test.ts); BENCH_FLAGS=(--quick); JSON_GLOB='attention-cpu*.json'; fi
run_step native-tests "$LIM_NATIVE" "$OUT/native-tests.log" env "$REQUIRE" build/Release/scm_native_tests
run_step vitest "$LIM_VITEST" "$OUT/vitest.log" env "$REQUIRE" node node_modules/vitest/vitest.mjs run "${VITEST_FILES[@]}"

# ---- benchmark (CUDA + CPU cases); the JSON goes to $OUT
marker=$(mktemp)
run_step bench "$LIM_BENCH" "$OUT/bench-attention.log" node dist/bench/main.js attention "${BENCH_FLAGS[@]}"
BENCH_JSON=$(find bench/results -maxdepth 1 -name "$JSON_GLOB" -newer "$marker" 2>/dev/null | head -n 1)
rm -f "$marker"
if [ -n "$BENCH_JSON" ]; then cp "$BENCH_JSON" "$OUT/" && BENCH_JSON="$OUT/$(basename "$BENCH_JSON")"; fi

# ---- PyTorch peer: check our attention JVP (CUDA; the CPU in a CPU check), then time torch
dump=/tmp/scm-attention-dump
rm -rf "$dump"
run_step peer-compare "$LIM_COMPARE" "$OUT/peer.log" \
  bash -c "node dist/bench/main.js attention --dump=$dump && LD_LIBRARY_PATH='$PY_LDP' PYTHONUNBUFFERED=1 python3 bench/peers/attention_jvp_torch.py compare $dump"
if [ "$CPU_CHECK" = 1 ]; then
  log "== peer-time: skipped in a CPU check (needs torch with CUDA)"
else
  run_step peer-time "$LIM_TIME" "$OUT/peer.log" \
    env LD_LIBRARY_PATH="$PY_LDP" PYTHONUNBUFFERED=1 python3 bench/peers/attention_jvp_torch.py time --json "$OUT/torch-peer.json"
fi

summary
