#!/usr/bin/env python3
"""PyTorch CPU timing peer of the GEMM benchmark (bench/gemm.ts, `npm run bench -- gemm`).

Reads the cases as JSON on stdin: {"threads": T, "minMs": X, "minRuns": N, "cases": [{"name",
"m", "n", "k", "batch", "transA", "transB"}, ...]} and writes one JSON object to stdout:
{"torch": version, "threads": T, "mkldnnBf16": bool|null, "results": [{"name", "dtype",
"bestMs", "medianMs", "runs", "callsPerRun"}, ...]}.

Each case is torch.matmul on tensors laid out like ours (row-major; a transposed operand is a
transposed view of a contiguous tensor, so no copy), fp32 and bf16 (bf16 tensors, output bf16,
PyTorch accumulates in fp32), into a preallocated `out`. Timing: torch.set_num_threads(T);
warm-up calls (at least 2, and 10% of minMs); samples of about 1 ms (several calls when one is
shorter) timed with time.perf_counter; at least minRuns samples and minMs of timed work;
best and median time per call.

Exit status 3 with "torch not installed" on stderr when torch cannot be imported.
"""
import json
import math
import sys
import time


def main() -> int:
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - any import failure means "not available"
        print(f"torch not installed ({type(e).__name__}: {e})", file=sys.stderr)
        return 3
    spec = json.load(sys.stdin)
    threads = int(spec["threads"])
    min_ms = float(spec.get("minMs", 300))
    min_runs = int(spec.get("minRuns", 10))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    try:
        mkldnn_bf16 = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - private API, absent in some builds
        mkldnn_bf16 = None
    results = []
    for case in spec["cases"]:
        m, n, k, batch = int(case["m"]), int(case["n"]), int(case["k"]), int(case.get("batch", 1))
        for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            a_shape = (batch, k, m) if case.get("transA") else (batch, m, k)
            b_shape = (batch, n, k) if case.get("transB") else (batch, k, n)
            a = torch.randn(a_shape, dtype=torch.float32).to(dtype)
            b = torch.randn(b_shape, dtype=torch.float32).to(dtype)
            if case.get("transA"):
                a = a.transpose(1, 2)
            if case.get("transB"):
                b = b.transpose(1, 2)
            if batch == 1:
                a, b = a[0], b[0]
            out = torch.empty((m, n) if batch == 1 else (batch, m, n), dtype=dtype)
            results.append({"name": case["name"], "dtype": dtype_name, **time_it(lambda: torch.matmul(a, b, out=out), min_ms, min_runs)})
    json.dump({"torch": torch.__version__, "threads": threads, "mkldnnBf16": mkldnn_bf16, "results": results}, sys.stdout)
    sys.stdout.write("\n")
    return 0


def time_it(call, min_ms: float, min_runs: int) -> dict:
    def sample(calls: int) -> float:
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        return (time.perf_counter() - t0) * 1e3

    last = sample(1)
    warm = last
    i = 1
    while i < 2 or warm < min(0.1 * min_ms, 1000.0):
        last = sample(1)
        warm += last
        i += 1
    per = 1 if last >= 1.0 else min(1000, math.ceil(1.0 / max(last, 1e-6)))
    samples, total = [], 0.0
    while len(samples) < min_runs or total < min_ms:
        t = sample(per)
        total += t
        samples.append(t / per)
    samples.sort()
    n = len(samples)
    median = samples[n // 2] if n % 2 else 0.5 * (samples[n // 2 - 1] + samples[n // 2])
    return {"bestMs": samples[0], "medianMs": median, "runs": n, "callsPerRun": per}


if __name__ == "__main__":
    sys.exit(main())
