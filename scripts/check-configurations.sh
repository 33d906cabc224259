#!/usr/bin/env bash
# Builds and loads the addon in every configuration a user can have, each from a clean build
# folder, and checks that backendInfo() names the cause when CUDA is not active, names the CPU
# GEMM in use, and that a GEMM (fp32 and bf16) computes right. Called by .ci/run; run it by
# hand the same way (from a checkout with node_modules installed).
#
#   scripts/check-configurations.sh [--main DIR] [--main-gemm REGEX] [--test] [NAME...]
#
# Configurations (NAME), cheapest first; all by default:
#   cuda-built    nvcc + cuBLAS: checks the existing main build in DIR (--main, default build/,
#                 as `SCM_CUDA=on npm ci` leaves it): libscm_cuda.so next to the addon, the
#                 addon links nothing from CUDA, reason names the driver/device (or CUDA is
#                 active), cpuGemm matches --main-gemm (default: anything)
#   no-cublas     nvcc without cuBLAS (pip's nvidia-cublas hidden behind a python3 that fails,
#                 SCM_CUBLAS_ROOT unset), CPU GEMM OpenBLAS: reason says cuBLAS was not found
#                 (skipped when the CUDA toolkit has its own cuBLAS, or libopenblas-dev is absent)
#   no-nvcc       no CUDA compiler (every PATH folder holding nvcc shadowed without it), CPU GEMM
#                 auto (oneDNN when installed): reason says no nvcc
#   cuda-off      SCM_CUDA=off, the builtin GEMM (SCM_CPU_GEMM=builtin: the fallback a machine
#                 without oneDNN and OpenBLAS gets): reason says SCM_CUDA=off, cpuGemm 'builtin'
#   gyp           node-gyp without CMake (a `cmake` that fails is first on PATH, so
#                 scripts/build-native.mjs falls back to node-gyp), in a scratch copy of the
#                 working tree: reason names node-gyp, cpuGemm 'builtin'
#
# --test: also runs the whole vitest suite (npx vitest run) against each configuration's own
# addon (SCM_ADDON=its scm_native.node; cuda-built is the main build, which `npm test` runs):
# a configuration whose tests fail is a failed configuration, its line gives the counts.
#
# Only the addon target is built (no CUDA library, no native test binary: the suite's native
# tests run the main build's), with -j$SCM_CHECK_JOBS (default 2), in scratch folders under
# $TMPDIR, removed after (SCM_CHECK_KEEP=1 keeps them). Prints "ok|FAIL|skip NAME: ..." per
# configuration and "configurations: N ok, N failed, N skipped"; writes "ok failed skipped" to
# $SCM_CHECK_SUMMARY when set; exits 1 when a configuration failed.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
jobs=${SCM_CHECK_JOBS:-2}
main_build=build
main_gemm=.
run_tests=0
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --main) main_build=$2; shift 2 ;;
    --main-gemm) main_gemm=$2; shift 2 ;;
    --test) run_tests=1; shift ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;  # the header comment
    *) names+=("$1"); shift ;;
  esac
done
[ ${#names[@]} -eq 0 ] && names=(cuda-built no-cublas no-nvcc cuda-off gyp)

work=$(mktemp -d "${TMPDIR:-/tmp}/scm-configs.XXXXXX")
[ "${SCM_CHECK_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
n_ok=0 n_failed=0 n_skipped=0
ok() { echo "ok $1: $2"; n_ok=$((n_ok + 1)); }
failed() { echo "FAIL $1: $2"; [ -f "${3:-}" ] && tail -30 "$3" | sed 's/^/    /'; n_failed=$((n_failed + 1)); }
skipped() { echo "skip $1: $2"; n_skipped=$((n_skipped + 1)); }

node_inc=$(node -p "require('path').resolve(process.execPath, '..', '..', 'include', 'node')")
[ -f "$node_inc/node_api.h" ] || node_inc=/usr/include/node

# A folder of links to every file of DIR but NAME (so PATH keeps DIR's other tools).
shadow_without() {
  local dir=$1 name=$2 out=$3 f
  mkdir -p "$out"
  for f in "$dir"/* "$dir"/.[!.]*; do
    [ -e "$f" ] || continue
    [ "$(basename "$f")" = "$name" ] || ln -sf "$f" "$out/$(basename "$f")"
  done
}

# PATH with every folder holding `name` replaced by a shadow without it.
path_without() {
  local name=$1 tag=$2 out="" d i=0
  local IFS=:
  for d in $PATH; do
    if [ -n "$d" ] && [ -e "$d/$name" ]; then
      i=$((i + 1))
      shadow_without "$d" "$name" "$work/$tag-path$i"
      d="$work/$tag-path$i"
    fi
    out="${out:+$out:}$d"
  done
  echo "$out"
}

# check_addon NAME ADDON REASON_REGEX GEMM_REGEX LOG: loads ADDON in a fresh node and checks it.
check_addon() {
  local name=$1 addon=$2 reason=$3 gemm=$4 log=$5 out
  if ldd "$addon" 2>/dev/null | grep -qiE 'libcuda|cublas|cudart'; then
    failed "$name" "the addon links CUDA libraries: $(ldd "$addon" | grep -iE 'cuda|cublas' | tr -s ' \n' ' ')"
    return
  fi
  if ! out=$(env -u SCM_BACKEND -u SCM_CUDA_LIBRARY node scripts/check-addon.cjs "$addon" "$reason" "$gemm" 2>&1); then
    failed "$name" "$out" "$log"
    return
  fi
  if [ "$run_tests" = 1 ] && [ "$name" != cuda-built ]; then
    local tlog="$work/$name.vitest.log" tjson="$work/$name.vitest.json" counts
    env -u SCM_BACKEND -u SCM_CUDA_LIBRARY SCM_ADDON="$addon" npx vitest run --reporter=default --reporter=json \
      --outputFile.json="$tjson" >"$tlog" 2>&1
    local tstatus=$?
    counts=$(node -e "const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
      console.log(r.numPassedTests + ' passed, ' + r.numFailedTests + ' failed, ' + (r.numPendingTests + r.numTodoTests) + ' skipped');" "$tjson" 2>/dev/null || echo "no test report")
    if [ "$tstatus" -ne 0 ]; then failed "$name" "$out; tests with this addon: $counts" "$tlog"; return; fi
    out="$out; tests with this addon: $counts"
  fi
  ok "$name" "$out"
}

# build_addon NAME LOG [env(1) arguments: -u NAME, NAME=VALUE...]: configures a clean scratch
# folder and builds the addon.
build_addon() {
  local name=$1 log=$2
  shift 2
  local dir="$work/$name"
  env "$@" cmake -S "$repo" -B "$dir" -G Ninja -DCMAKE_JS_INC="$node_inc" >"$log" 2>&1 &&
    env "$@" cmake --build "$dir" --target scm_native -j "$jobs" >>"$log" 2>&1
}

for name in "${names[@]}"; do
  log="$work/$name.log"
  case "$name" in
    cuda-built)
      addon="$main_build/Release/scm_native.node"
      if [ ! -f "$addon" ]; then failed "$name" "no main build at $main_build (run SCM_CUDA=on npm ci first)"; continue; fi
      if [ ! -f "$main_build/Release/libscm_cuda.so" ]; then failed "$name" "$main_build/Release/libscm_cuda.so is missing: the CUDA library was not built"; continue; fi
      check_addon "$name" "$addon" 'driver|device|^$' "$main_gemm" /dev/null
      ;;
    no-cublas)
      if [ -z "$(ls /usr/include/*/openblas*/openblas_config.h /usr/include/openblas*/openblas_config.h 2>/dev/null)" ]; then
        skipped "$name" "libopenblas-dev is not installed (apt-get install libopenblas-dev)"; continue
      fi
      mkdir -p "$work/no-python"
      for p in python3 python; do printf '#!/bin/sh\nexit 1\n' >"$work/no-python/$p"; chmod +x "$work/no-python/$p"; done
      if ! build_addon "$name" "$log" -u SCM_CUBLAS_ROOT PATH="$work/no-python:$PATH" SCM_CUDA=auto SCM_CPU_GEMM=openblas; then
        failed "$name" "the build failed" "$log"; continue
      fi
      if grep -q "CUDA backend ON" "$log"; then skipped "$name" "the CUDA toolkit has its own cuBLAS, so nvcc without cuBLAS cannot be made here"; continue; fi
      if ! grep -q "CUDA backend OFF" "$log"; then skipped "$name" "no nvcc on this machine"; continue; fi
      check_addon "$name" "$work/$name/Release/scm_native.node" 'nvcc .* was found but no cuBLAS' '^openblas [0-9]' "$log"
      ;;
    no-nvcc)
      if ! build_addon "$name" "$log" -u CUDACXX -u CUDA_PATH -u CUDAToolkit_ROOT PATH="$(path_without nvcc "$name")" SCM_CUDA=auto SCM_CPU_GEMM=auto; then
        failed "$name" "the build failed" "$log"; continue
      fi
      want_gemm='.'
      grep -q "CPU GEMM: oneDNN" "$log" && want_gemm='^onednn [0-9]'
      check_addon "$name" "$work/$name/Release/scm_native.node" 'no CUDA compiler \(nvcc\)' "$want_gemm" "$log"
      ;;
    cuda-off)
      if ! build_addon "$name" "$log" SCM_CUDA=off SCM_CPU_GEMM=builtin; then failed "$name" "the build failed" "$log"; continue; fi
      check_addon "$name" "$work/$name/Release/scm_native.node" 'SCM_CUDA=off' '^builtin$' "$log"
      ;;
    gyp)
      copy="$work/gyp-tree"
      mkdir -p "$copy" "$work/no-cmake"
      git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents {} "$copy" 2>/dev/null
      ln -s "$repo/node_modules" "$copy/node_modules"
      printf '#!/bin/sh\nexit 127\n' >"$work/no-cmake/cmake"; chmod +x "$work/no-cmake/cmake"
      gyp_js=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")/node_modules/node-gyp/bin/node-gyp.js
      if ! (cd "$copy" && PATH="$work/no-cmake:$PATH" npm_config_node_gyp="$gyp_js" SCM_BUILD_JOBS="$jobs" node scripts/build-native.mjs >"$log" 2>&1); then
        failed "$name" "node scripts/build-native.mjs failed" "$log"; continue
      fi
      if ! grep -q "CMake not found" "$log"; then failed "$name" "build-native.mjs did not fall back to node-gyp" "$log"; continue; fi
      check_addon "$name" "$copy/build/Release/scm_native.node" 'node-gyp' '^builtin$' "$log"
      ;;
    *) failed "$name" "unknown configuration (known: cuda-built no-cublas no-nvcc cuda-off gyp)" ;;
  esac
done

echo "configurations: $n_ok ok, $n_failed failed, $n_skipped skipped"
[ -n "${SCM_CHECK_SUMMARY:-}" ] && echo "$n_ok $n_failed $n_skipped" >"$SCM_CHECK_SUMMARY"
[ "$n_failed" -eq 0 ]
