#!/usr/bin/env python3
"""PyTorch peer of the attention benchmark (bench/attention.ts): math attention and its JVP.

Math attention, written out (no fused kernel):  O = softmax(scale * Q K^T) V, per batch item
and head; its JVP along (tQ, tK, tV) is taken by torch.func.jvp (forward-mode AD), the same
quantity as our ops.attentionJvp:  tO = (P * tS) V - rowsum(P * tS) * O + P tV,
tS = scale (tQ K^T + Q tK^T)  (shared SCM.md section 3).

Modes
  compare DIR   DIR was written by `node dist/bench/main.js attention --dump=DIR` (inputs
                and our out / tangentOut / lse as raw little-endian float32, DIR/manifest.json).
                Computes the float64 reference of every case and prints the relative L2
                errors ||ours - ref|| / ||ref||; exits 1 when one is over its tolerance
                (fp32: 1e-4; bf16 operands: 1e-2; fp16 operands: 5e-3, as the CUDA tests) or
                not finite. The reference is numpy (always) and, when torch is importable,
                also torch.func.jvp in float64 (on the GPU when there is one): the two
                references must agree to 1e-10, and the errors of PyTorch's own math
                attention JVP in the case's precision are printed beside ours for scale.
  time          Times torch.func.jvp over math attention (and the forward alone) on CUDA, in
                fp32 and bf16, at the benchmark's shapes (L = 256 ... 8192, head dim 64 and
                128, batch*heads*L = 131072), with CUDA events: warm-up, then the median of
                >= 10 runs and >= 300 ms; peak memory from torch.cuda.max_memory_allocated.
                FLOP model as ours: forward 4 L^2 d, JVP 12 L^2 d per batch item and head.
  selftest      numpy only: checks the reference JVP against central finite differences in
                float64, and compare() on a synthetic dump, right and wrong (used by the vitest suite).

Usage: python3 bench/peers/attention_jvp_torch.py compare DIR
       python3 bench/peers/attention_jvp_torch.py time [--lengths 256,1024] [--dims 64,128]
           [--precisions fp32,bf16] [--rows 131072] [--min-ms 300] [--json FILE]
           [--device cpu]   (cpu: a plumbing check of this script, no GPU result)
       python3 bench/peers/attention_jvp_torch.py selftest
"""
import argparse
import datetime
import json
import math
import os
import sys
import time

import numpy as np

TOLERANCE = {"fp32": 1e-4, "bf16": 1e-2, "fp16": 5e-3}
FORMAT = "scm-attention-jvp-dump/1"


def try_import_torch():
    try:
        import torch  # noqa: F401
        return torch
    except ImportError:
        return None


# ---------------------------------------------------------------- numpy reference (float64)

def reference_jvp_numpy(q, k, v, tq, tk, tv, scale):
    """Float64 attention and JVP for arrays [BH, Lq, d] / [BH, Lk, d]; returns (o, to, lse)."""
    q, k, v, tq, tk, tv = (np.asarray(a, dtype=np.float64) for a in (q, k, v, tq, tk, tv))
    bh, lq, d = q.shape
    o = np.empty((bh, lq, d))
    to = np.empty((bh, lq, d))
    lse = np.empty((bh, lq))
    for h in range(bh):  # one head at a time: one Lq x Lk matrix in memory
        s = scale * (q[h] @ k[h].T)
        sd = scale * (tq[h] @ k[h].T + q[h] @ tk[h].T)
        m = s.max(axis=1, keepdims=True)
        e = np.exp(s - m)
        l = e.sum(axis=1, keepdims=True)
        p = e / l
        lse[h] = (m + np.log(l))[:, 0]
        o[h] = p @ v[h]
        psd = p * sd
        mu = psd.sum(axis=1, keepdims=True)
        to[h] = psd @ v[h] - mu * o[h] + p @ tv[h]
    return o, to, lse


def rel_l2(got, ref):
    got = np.asarray(got, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    if got.shape != ref.shape:
        raise ValueError(f"shape mismatch: {got.shape} vs {ref.shape}")
    if not np.all(np.isfinite(got)):
        return float("nan")
    den = max(float(np.linalg.norm(ref)), 1e-300)
    return float(np.linalg.norm(got - ref)) / den


# ---------------------------------------------------------------- torch (math attention)

def math_attention(torch, q, k, v, scale):
    """softmax(scale * q k^T) v in the inputs' dtype, the softmax in fp32 for 16-bit inputs."""
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    p = torch.softmax(s.float(), dim=-1).to(q.dtype) if q.dtype in (torch.bfloat16, torch.float16) else torch.softmax(s, dim=-1)
    return torch.matmul(p, v)


def torch_jvp(torch, q, k, v, tq, tk, tv, scale):
    return torch.func.jvp(lambda a, b, c: math_attention(torch, a, b, c, scale), (q, k, v), (tq, tk, tv))


# ---------------------------------------------------------------- compare mode

def load_case(root, case):
    """Reads one dumped case: dict of float32 arrays shaped [BH, L, d] (lse [BH, Lq])."""
    bh = case["batch"] * case["heads"]
    lq, lk, d = case["lenQ"], case["lenK"], case["headDim"]
    shapes = {"q": (bh, lq, d), "tq": (bh, lq, d), "out": (bh, lq, d), "tangentOut": (bh, lq, d),
              "k": (bh, lk, d), "v": (bh, lk, d), "tk": (bh, lk, d), "tv": (bh, lk, d), "lse": (bh, lq)}
    arrays = {}
    for key, shape in shapes.items():
        path = os.path.join(root, case["files"][key])
        a = np.fromfile(path, dtype="<f4")
        if a.size != int(np.prod(shape)):
            raise ValueError(f"{path}: {a.size} floats, expected {int(np.prod(shape))} {shape}")
        arrays[key] = a.reshape(shape)
    return arrays


def compare(root, out=sys.stdout):
    """Checks every case of the dump in `root`; returns the number of failures."""
    with open(os.path.join(root, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{root}/manifest.json: format {manifest.get('format')!r}, expected {FORMAT!r}")
    torch = try_import_torch()
    dev = "cuda" if torch is not None and torch.cuda.is_available() else "cpu"
    print(f"dump from {manifest['backend']} ({manifest['device']}, {manifest['date']}); reference: numpy float64"
          + (f" + torch.func.jvp float64 on {dev} (torch {torch.__version__})" if torch is not None else " (torch not installed)"), file=out)
    header = f"{'case':<40} {'tol':>7} {'o':>10} {'tO':>10} {'lse':>10}"
    if torch is not None:
        header += f" {'torch-o':>10} {'torch-tO':>10}"
    print(header, file=out)
    failures = 0
    for case in manifest["cases"]:
        a = load_case(root, case)
        ro, rto, rlse = reference_jvp_numpy(a["q"], a["k"], a["v"], a["tq"], a["tk"], a["tv"], case["scale"])
        tol = TOLERANCE[case["precision"]]
        errs = {"o": rel_l2(a["out"], ro), "tO": rel_l2(a["tangentOut"], rto), "lse": rel_l2(a["lse"], rlse)}
        line = f"{case['name']:<40} {tol:>7.0e} {errs['o']:>10.2e} {errs['tO']:>10.2e} {errs['lse']:>10.2e}"
        bad = [k for k, e in errs.items() if not (e <= tol)]
        if torch is not None:
            t = {key: torch.from_numpy(np.ascontiguousarray(a[key])).to(dev) for key in ("q", "k", "v", "tq", "tk", "tv")}
            o64, to64 = torch_jvp(torch, *(t[x].double() for x in ("q", "k", "v", "tq", "tk", "tv")), case["scale"])
            agree = max(rel_l2(o64.cpu().numpy(), ro), rel_l2(to64.cpu().numpy(), rto))
            if not agree <= 1e-10:
                bad.append(f"torch float64 vs numpy {agree:.1e}")
            dt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[case["precision"]]
            op, top = torch_jvp(torch, *(t[x].to(dt) for x in ("q", "k", "v", "tq", "tk", "tv")), case["scale"])
            line += f" {rel_l2(op.float().cpu().numpy(), ro):>10.2e} {rel_l2(top.float().cpu().numpy(), rto):>10.2e}"
        if bad:
            failures += 1
            line += "  FAIL: " + ", ".join(bad)
        print(line, file=out)
    print(f"{len(manifest['cases']) - failures}/{len(manifest['cases'])} cases within tolerance", file=out)
    return failures


# ---------------------------------------------------------------- time mode

def batch_heads(rows, L):
    bh = max(1, rows // L)
    heads = min(16, bh)
    return max(1, bh // heads), heads


def time_torch(args):
    torch = try_import_torch()
    if torch is None:
        print("time mode needs torch", file=sys.stderr)
        return 1
    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"time mode: torch {torch.__version__} sees no CUDA device", file=sys.stderr)
        return 1
    dev = torch.device(args.device)
    lengths = [int(x) for x in args.lengths.split(",")]
    dims = [int(x) for x in args.dims.split(",")]
    precisions = args.precisions.split(",")
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32 products
    name = torch.cuda.get_device_name(dev) if args.device == "cuda" else "CPU (plumbing check, not a GPU result)"
    print(f"torch {torch.__version__} on {name}: math attention, torch.func.jvp; batch*heads*L = {args.rows}")
    results = []
    gen = torch.Generator(device=dev)
    gen.manual_seed(1234)
    for d in dims:
        for L in lengths:
            batch, heads = batch_heads(args.rows, L)
            for prec in precisions:
                dt = dtypes[prec]
                shape = (batch, heads, L, d)
                q, k, v, tq, tk, tv = (torch.randn(shape, device=dev, dtype=torch.float32, generator=gen).to(dt) for _ in range(6))
                scale = 1.0 / math.sqrt(d)
                for pass_ in ("forward", "jvp"):
                    if pass_ == "forward":
                        def fn():
                            return math_attention(torch, q, k, v, scale)
                    else:
                        def fn():
                            return torch_jvp(torch, q, k, v, tq, tk, tv, scale)
                    rec = {"peer": "torch-math", "pass": pass_, "precision": prec, "L": L, "headDim": d, "batch": batch, "heads": heads}
                    try:
                        ms, runs, peak = time_calls(torch, fn, args.device, min_ms=args.min_ms)
                        flops = (12 if pass_ == "jvp" else 4) * L * L * d * batch * heads
                        rec.update(medianMs=ms, runs=runs, tflops=flops / (ms * 1e-3) / 1e12, peakMemoryBytes=peak)
                        mem = f"peak {peak / 2**20:>9.1f} MiB" if peak is not None else "peak not measured"
                        print(f"torch {pass_:<7} math  L={L:>5} d={d} b*h={batch * heads:>3} {prec} {ms:>10.3f} ms {rec['tflops']:>8.2f} TFLOP/s  {mem}")
                    except torch.cuda.OutOfMemoryError as e:
                        rec.update(error=f"out of memory: {e}".splitlines()[0])
                        print(f"torch {pass_:<7} math  L={L:>5} d={d} {prec} out of memory")
                    if args.device == "cuda":
                        torch.cuda.empty_cache()
                    results.append(rec)
                del q, k, v, tq, tk, tv
    if args.json:
        record = {"suite": "attention-torch-peer", "device": name, "torch": torch.__version__,
                  "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "rows": args.rows,
                  "timing": f"{'CUDA events' if args.device == 'cuda' else 'time.perf_counter'} around each call after 3 warm-up calls; median of >= 10 calls and >= {args.min_ms} ms",
                  "memoryMethod": "torch.cuda.max_memory_allocated during the timed calls minus memory allocated before",
                  "flopModel": "forward 4·L²·d, JVP 12·L²·d per batch item and head", "results": results}
        with open(args.json, "w") as f:
            json.dump(record, f, indent=2)
        print(f"wrote {args.json}")
    return 0


def time_calls(torch, fn, device, min_runs=10, min_ms=300.0, warmup=3):
    """Median ms per call (CUDA events on the GPU; perf_counter on the CPU), runs, peak bytes or None."""
    cuda = device == "cuda"
    for _ in range(warmup):
        fn()
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    times = []
    total = 0.0
    while len(times) < min_runs or total < min_ms:
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            t = start.elapsed_time(end)
        else:
            t0 = time.perf_counter()
            fn()
            t = (time.perf_counter() - t0) * 1e3
        times.append(t)
        total += t
        if len(times) >= 10000:
            break
    peak = torch.cuda.max_memory_allocated() - base if cuda else None
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    return median, n, peak


# ---------------------------------------------------------------- selftest (numpy only)

def selftest():
    rng = np.random.default_rng(7)
    bh, lq, lk, d = 3, 5, 7, 4
    q, tq = rng.standard_normal((bh, lq, d)), rng.standard_normal((bh, lq, d))
    k, v, tk, tv = (rng.standard_normal((bh, lk, d)) for _ in range(4))
    scale = 1 / math.sqrt(d)
    o, to, lse = reference_jvp_numpy(q, k, v, tq, tk, tv, scale)
    # plain definition of the forward
    s = scale * np.einsum("hid,hjd->hij", q, k)
    p = np.exp(s) / np.exp(s).sum(-1, keepdims=True)
    assert rel_l2(o, p @ v) < 1e-13, "forward differs from its definition"
    assert rel_l2(lse, np.log(np.exp(s).sum(-1))) < 1e-13, "lse differs from its definition"
    # central finite differences of the forward along the tangents
    eps = 1e-5
    op = reference_jvp_numpy(q + eps * tq, k + eps * tk, v + eps * tv, tq, tk, tv, scale)[0]
    om = reference_jvp_numpy(q - eps * tq, k - eps * tk, v - eps * tv, tq, tk, tv, scale)[0]
    fd = (op - om) / (2 * eps)
    e = rel_l2(to, fd)
    assert e < 1e-6, f"JVP vs central differences: {e:.2e}"
    assert rel_l2(to * (1 + 1e-3), to) > 5e-4 and math.isnan(rel_l2(np.full(3, np.nan), np.ones(3))), "rel_l2 is broken"
    # a synthetic dump (reference outputs rounded to float32) passes compare(); a wrong
    # tangent output fails it
    import io
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        name = "synthetic"
        os.makedirs(os.path.join(root, name))
        arrays = {"q": q, "k": k, "v": v, "tq": tq, "tk": tk, "tv": tv, "out": o, "tangentOut": to, "lse": lse}
        files = {}
        for key, a in arrays.items():
            files[key] = f"{name}/{key}.f32"
            np.asarray(a, dtype="<f4").tofile(os.path.join(root, files[key]))
        case = {"name": name, "backend": "cpu", "implementation": "naive", "precision": "fp32", "batch": 1, "heads": bh,
                "lenQ": lq, "lenK": lk, "headDim": d, "scale": scale, "files": files}
        manifest = {"format": FORMAT, "date": "selftest", "backend": "cpu", "device": "synthetic", "cases": [case]}
        with open(os.path.join(root, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        assert compare(root, out=io.StringIO()) == 0, "a correct synthetic dump fails compare()"
        (to[:, ::-1] * 1.0).astype("<f4").tofile(os.path.join(root, files["tangentOut"]))
        assert compare(root, out=io.StringIO()) == 1, "a wrong tangent output passes compare()"
    print(f"selftest: forward exact, JVP vs central differences {e:.1e}, rel_l2 ok, compare() accepts a right dump and refuses a wrong one")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("compare")
    c.add_argument("dir")
    t = sub.add_parser("time")
    t.add_argument("--lengths", default="256,512,1024,2048,4096,8192")
    t.add_argument("--dims", default="64,128")
    t.add_argument("--precisions", default="fp32,bf16")
    t.add_argument("--rows", type=int, default=131072)
    t.add_argument("--json")
    t.add_argument("--min-ms", type=float, default=300.0)
    t.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: a plumbing check of this script only")
    sub.add_parser("selftest")
    args = ap.parse_args(argv)
    if args.mode == "compare":
        return 1 if compare(args.dir) else 0
    if args.mode == "time":
        return time_torch(args)
    return selftest()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
