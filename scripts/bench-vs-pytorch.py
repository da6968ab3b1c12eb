#!/usr/bin/env python3
"""Runs `longbow bench-kernels --json` and PyTorch on the same shapes in one call, on the same GPU, and prints both
with the ratios (docs/GPU.md, docs/PERFORMANCE.md). PyTorch peers: scaled_dot_product_attention with the flash and
cuDNN backends (prefill: causal, fp16; batch x heads as bench-kernels folds them), SDPA for one decode query with GQA,
torch.matmul (fp16 in; note Longbow's GEMM writes fp32), torch._int_mm for the INT8 GEMM, and torch's fp16 GEMV beside
the W8A16 one. Needs torch with CUDA.
Usage: scripts/bench-vs-pytorch.py [--longbow build/longbow-runtime/bin/longbow] [--quick] [--json]"""
import argparse, json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(fn, quick):
    import torch
    warm, reps = (2, 5) if quick else (5, 20)
    for _ in range(warm):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps


def torch_results(quick):
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    import torch.nn.functional as F
    dev, h16 = "cuda", torch.float16
    out = {}
    gemms = [(2048, 4096, 4096)] if quick else [(4096, 4096, 4096), (2048, 4096, 4096), (2048, 1024, 4096), (2048, 14336, 4096), (2048, 4096, 14336)]
    for m, n, k in gemms:
        a, b = torch.randn(m, k, device=dev, dtype=h16), torch.randn(n, k, device=dev, dtype=h16)
        ms = timed(lambda: torch.matmul(a, b.t()), quick)
        out[("gemm_f16_tn", f"{m}x{n}x{k}")] = {"torch.matmul": 2.0 * m * n * k / (ms * 1e9)}
    # INT8: torch._int_mm (int8 in, int32 out, as gemm_i8_tn's raw epilogue); it wants m > 16 and k, n multiples of 8.
    int_gemms = [(2048, 4096, 4096)] if quick else [(4096, 4096, 4096), (8192, 8192, 8192), (2048, 4096, 4096), (2048, 14336, 4096), (2048, 4096, 14336)]
    for m, n, k in int_gemms:
        a = torch.randint(-127, 128, (m, k), device=dev, dtype=torch.int8)
        b = torch.randint(-127, 128, (n, k), device=dev, dtype=torch.int8)
        bt = b.t()
        try:
            ms = timed(lambda: torch._int_mm(a, bt), quick)
            out[("gemm_i8_tn", f"{m}x{n}x{k}")] = {"torch._int_mm": 2.0 * m * n * k / (ms * 1e9)}
        except Exception as e:
            out[("gemm_i8_tn", f"{m}x{n}x{k}")] = {"torch._int_mm": f"unavailable: {str(e).splitlines()[0][:80]}"}
    # The W8A16 GEMV's peer is ours (gemv_f16, in bench-kernels' own row); torch's fp16 GEMV for scale.
    for rows, cols in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        w, x = torch.randn(rows, cols, device=dev, dtype=h16), torch.randn(cols, 1, device=dev, dtype=h16)
        ms = timed(lambda: torch.matmul(w, x), quick)
        out[("gemv_i8_row", f"{rows}x{cols}")] = {"torch fp16 matmul (GB/s of its 2-byte weights)": 2.0 * rows * cols / (ms * 1e6)}
    for hd in (64, 128):
        for seq in ([1024] if quick else [1024, 4096, 16384]):
            batch, heads = 16384 // seq, 2048 // hd
            q, k, v = (torch.randn(batch, heads, seq, hd, device=dev, dtype=h16) for _ in range(3))
            flops = 4.0 * seq * seq / 2 * hd * heads * batch
            row = {}
            for name, backend in (("sdpa flash", SDPBackend.FLASH_ATTENTION), ("sdpa cudnn", SDPBackend.CUDNN_ATTENTION)):
                try:
                    with sdpa_kernel(backend):
                        ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), quick)
                    row[name] = flops / (ms * 1e9)
                except Exception as e:  # a backend this build or GPU lacks
                    row[name] = f"unavailable: {str(e).splitlines()[0][:80]}"
            out[("attention_prefill_hd%d" % hd, f"seq {seq}, {batch * heads} heads (batch x heads), causal")] = row
    for ctx in ([4096] if quick else [4096, 32768]):
        q = torch.randn(1, 32, 1, 128, device=dev, dtype=h16)
        k, v = (torch.randn(1, 8, ctx, 128, device=dev, dtype=h16) for _ in range(2))
        ms = timed(lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), quick)
        out[("attention_decode_hd128", f"ctx {ctx}")] = {"sdpa (gqa)": 2.0 * ctx * 8 * 128 * 2 / (ms * 1e6)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--longbow", default=os.path.join(HERE, "longbow"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cmd = [args.longbow, "bench-kernels", "--json"] + (["--quick"] if args.quick else [])
    lb = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    try:
        import torch
    except ImportError:
        sys.exit("bench-vs-pytorch: no torch here")
    peers = torch_results(args.quick)
    rows = []
    for r in lb["results"]:
        value = r.get("tflops", r.get("gbps"))
        key = (r["kernel"], r["shape"]) if (r["kernel"], r["shape"]) in peers else (r["kernel"], r["shape"].split(",")[0])
        row = {"kernel": r["kernel"], "shape": r["shape"], "longbow": value, "unit": "TFLOP/s" if "tflops" in r else "GB/s"}
        if "cublas_tflops" in r:
            row["cublas"] = r["cublas_tflops"]
        for name, v in peers.get(key, {}).items():
            row[name] = v
            if isinstance(v, float):
                row["ratio vs " + name] = value / v
        rows.append(row)
    report = {"device": lb["device"], "torch": torch.__version__, "cuda": torch.version.cuda, "rows": rows}
    if args.json:
        print(json.dumps(report))
        return
    print(f"{lb['device']}; torch {torch.__version__} (CUDA {torch.version.cuda})")
    for row in rows:
        peers_text = ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                               if k not in ("kernel", "shape", "longbow", "unit"))
        print(f"{row['kernel']:<24} {row['shape']:<48} longbow {row['longbow']:8.1f} {row['unit']}  {peers_text}")


if __name__ == "__main__":
    main()
