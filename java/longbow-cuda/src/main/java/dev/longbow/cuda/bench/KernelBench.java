package dev.longbow.cuda.bench;

import dev.longbow.LongbowException;
import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.ffm.Cublas;
import dev.longbow.cuda.kernels.AttentionKernel;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.GemmKernel;
import dev.longbow.cuda.kernels.GemmInt8Kernel;
import dev.longbow.cuda.kernels.GemvInt8Kernel;
import dev.longbow.cuda.kernels.GemvKernel;
import dev.longbow.cuda.kernels.GemvS24Kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Times the kernels on the GPU with CUDA events (warm-up launches first, then the mean over repeats): GEMM TFLOP/s
 * (4096^3 and Llama-3-8B's projections at 2048 tokens) beside cuBLAS on the same buffers, prefill attention TFLOP/s
 * (causal, head dims 64/128, sequences of 1k/4k/16k with batch x heads = 16k tokens x 2048 / head_dim, as
 * FlashAttention's benchmarks fill the GPU), decode attention and GEMV GB/s (unique bytes read over time).
 */
public final class KernelBench {
    /**
     * {@code peer}: the figure of what this kernel is measured against on the same shape, in the same unit, named by
     * {@code peerName}: cuBLAS (GEMM), gemv_f16 (the W8A16 GEMV, whose win is time: {@code peerMillis}); NaN if none.
     */
    public record Result(String kernel, String shape, double millis, double value, String unit, double peer, String peerName, double peerMillis) {
        Result(String kernel, String shape, double millis, double value, String unit, double peer) {
            this(kernel, shape, millis, value, unit, peer, "cuBLAS", Double.NaN);
        }
    }

    private final GpuDriver d;
    private final CudaKernels k;
    private final boolean quick;
    private final long stream;

    public KernelBench(CudaKernels k, boolean quick) {
        this.k = k;
        this.d = k.driver();
        this.quick = quick;
        this.stream = d.createStream();
    }

    /** Mean milliseconds per call of {@code work} (given the stream), after warm-up. */
    double time(LongConsumer work) {
        int warm = quick ? 2 : 5, reps = quick ? 5 : 20;
        for (int i = 0; i < warm; i++) work.accept(stream);
        long start = d.createEvent(), end = d.createEvent();
        d.record(start, stream);
        for (int i = 0; i < reps; i++) work.accept(stream);
        d.record(end, stream);
        float ms = d.elapsedMillis(start, end);
        d.destroyEvent(start);
        d.destroyEvent(end);
        return ms / reps;
    }

    public List<Result> run() {
        List<Result> out = new ArrayList<>();
        Cublas blas = null;
        try {
            blas = Cublas.open();
        } catch (LongbowException e) {
            System.err.println("longbow: bench-kernels without the cuBLAS peer: " + e.getMessage());
        }
        int[][] gemms = quick ? new int[][]{{2048, 4096, 4096}} : new int[][]{{4096, 4096, 4096}, {2048, 4096, 4096},
                {2048, 1024, 4096}, {2048, 14336, 4096}, {2048, 4096, 14336}};
        for (int[] s : gemms) out.add(gemm(s[0], s[1], s[2], blas));
        int[][] intGemms = quick ? new int[][]{{2048, 4096, 4096}} : new int[][]{{4096, 4096, 4096}, {8192, 8192, 8192}, {2048, 4096, 4096},
                {2048, 14336, 4096}, {2048, 4096, 14336}};
        for (int[] s : intGemms) out.add(gemmInt8(s[0], s[1], s[2]));
        for (int hd : new int[]{64, 128}) {
            for (int seq : quick ? new int[]{1024} : new int[]{1024, 4096, 16384}) out.add(prefill(hd, seq));
        }
        for (int ctx : quick ? new int[]{4096} : new int[]{4096, 32768}) out.add(decode(ctx));
        for (int[] s : new int[][]{{4096, 4096}, {14336, 4096}, {4096, 14336}}) out.add(gemv(s[0], s[1]));
        for (int[] s : new int[][]{{4096, 4096}, {14336, 4096}, {4096, 14336}, {128256, 4096}}) out.add(gemvInt8(s[0], s[1]));
        for (boolean int8 : new boolean[]{false, true}) {
            for (int[] s : new int[][]{{4096, 4096}, {14336, 4096}, {4096, 14336}}) out.add(gemvSparse24(s[0], s[1], int8));
        }
        if (blas != null) blas.close();
        d.destroyStream(stream);
        return out;
    }

    private Result gemm(int m, int n, int kk, Cublas blas) {
        long a = DeviceArrays.zeros(d, 2L * m * kk), b = DeviceArrays.zeros(d, 2L * n * kk), c = DeviceArrays.zeros(d, 4L * m * n);
        double ms = time(s -> GemmKernel.launch(k, s, a, b, c, 0, m, n, kk, n));
        double peer = blas == null ? Double.NaN : flops(m, n, kk) / (time(s -> blas.gemm(s, a, b, c, m, n, kk, n)) * 1e9);
        d.free(a);
        d.free(b);
        d.free(c);
        return new Result("gemm_f16_tn", m + "x" + n + "x" + kk, ms, flops(m, n, kk) / (ms * 1e9), "TFLOP/s", peer);
    }

    private static double flops(long m, long n, long k) {
        return 2.0 * m * n * k;
    }

    /** One causal sequence of {@code seq} queries over its own keys, batch x heads folded into heads (MHA). */
    private Result prefill(int hd, int seq) {
        int heads = (16384 / seq) * (2048 / hd);
        int pages = seq / AttentionKernel.PAGE;
        long pageBytes = 2L * heads * AttentionKernel.PAGE * hd;
        long q = DeviceArrays.zeros(d, 2L * seq * heads * hd), o = DeviceArrays.zeros(d, 4L * seq * heads * hd);
        long kp = DeviceArrays.zeros(d, pageBytes * pages), vp = DeviceArrays.zeros(d, pageBytes * pages);
        long table = DeviceArrays.upload(d, identity(pages));
        double ms = time(s -> AttentionKernel.prefill(k, s, q, kp, vp, table, o, seq, heads, heads, hd, heads * hd, heads * hd, 0, 0, 1f));
        double flops = 4.0 * seq * (double) seq / 2 * hd * heads;
        for (long p : new long[]{q, o, kp, vp, table}) d.free(p);
        return new Result("attention_prefill_hd" + hd, "seq " + seq + ", " + heads + " heads (batch x heads), causal", ms, flops / (ms * 1e9), "TFLOP/s", Double.NaN);
    }

    /** One query per head of Llama-3-8B's attention (32 heads, 8 KV heads, head dim 128) over ctx cached positions. */
    private Result decode(int ctx) {
        int heads = 32, kvHeads = 8, hd = 128, pages = ctx / AttentionKernel.PAGE;
        long pageBytes = 2L * kvHeads * AttentionKernel.PAGE * hd;
        long q = DeviceArrays.zeros(d, 4L * heads * hd), o = DeviceArrays.zeros(d, 4L * heads * hd);
        long kp = DeviceArrays.zeros(d, pageBytes * pages), vp = DeviceArrays.zeros(d, pageBytes * pages);
        long table = DeviceArrays.upload(d, identity(pages));
        AttentionKernel.Split split = AttentionKernel.Split.of(ctx, 1, heads, d.device().multiprocessors());
        long po = DeviceArrays.zeros(d, 4L * heads * split.splits() * hd), pml = DeviceArrays.zeros(d, 8L * heads * split.splits());
        double ms = time(s -> AttentionKernel.decode(k, s, q, kp, vp, table, o, po, pml, split, 1, heads, kvHeads, hd, heads * hd,
                heads * hd, ctx - 1, 0, 1f));
        double bytes = 2.0 * pageBytes * pages;
        for (long p : new long[]{q, o, kp, vp, table, po, pml}) d.free(p);
        return new Result("attention_decode_hd128", "ctx " + ctx + ", 32 heads / 8 KV heads, " + split.splits() + " splits", ms,
                bytes / (ms * 1e6), "GB/s", Double.NaN);
    }

    private Result gemv(int rows, int cols) {
        long w = DeviceArrays.zeros(d, 2L * rows * cols), x = DeviceArrays.zeros(d, 4L * cols), y = DeviceArrays.zeros(d, 4L * rows);
        double ms = time(s -> GemvKernel.launch(k, s, w, x, y, 0, rows, cols, 1, cols, rows));
        for (long p : new long[]{w, x, y}) d.free(p);
        return new Result("gemv_f16", rows + "x" + cols + ", 1 token", ms, 2.0 * rows * cols / (ms * 1e6), "GB/s", Double.NaN);
    }

    /** The INT8 tensor-core GEMM with its raw int32 epilogue (torch._int_mm's output), in tera-operations per second. */
    private Result gemmInt8(int m, int n, int kk) {
        long a = DeviceArrays.zeros(d, (long) m * kk), b = DeviceArrays.zeros(d, (long) n * kk), c = DeviceArrays.zeros(d, 4L * m * n);
        double ms = time(s -> GemmInt8Kernel.launch(k, s, a, b, c, 0, 0, 0, m, n, kk, n));
        for (long p : new long[]{a, b, c}) d.free(p);
        return new Result("gemm_i8_tn", m + "x" + n + "x" + kk, ms, flops(m, n, kk) / (ms * 1e9), "TFLOP/s", Double.NaN);
    }

    /** The 2:4 decode GEMV (F16 or INT8 kept values): GB/s of the compressed bytes it reads, beside gemv_f16 on the same shape. */
    private Result gemvSparse24(int rows, int cols, boolean int8) {
        long valueBytes = (long) rows * cols / 2 * (int8 ? 1 : 2), indexBytes = (long) rows * ((cols + 7) / 8);
        long v = DeviceArrays.zeros(d, valueBytes), ix = DeviceArrays.zeros(d, indexBytes), sc = int8 ? DeviceArrays.zeros(d, 4L * rows) : 0;
        long x = DeviceArrays.zeros(d, 4L * cols), y = DeviceArrays.zeros(d, 4L * rows), w16 = DeviceArrays.zeros(d, 2L * rows * cols);
        double ms = time(s -> GemvS24Kernel.launch(k, s, v, ix, sc, x, y, 0, rows, cols, 1, cols, rows));
        double f16 = time(s -> GemvKernel.launch(k, s, w16, x, y, 0, rows, cols, 1, cols, rows));
        for (long p : new long[]{v, ix, sc, x, y, w16}) if (p != 0) d.free(p);
        return new Result(int8 ? "gemv_s24_i8" : "gemv_s24_f16", rows + "x" + cols + ", 1 token", ms,
                (valueBytes + indexBytes + (int8 ? 4.0 * rows : 0)) / (ms * 1e6), "GB/s", 2.0 * rows * cols / (f16 * 1e6), "gemv_f16", f16);
    }

    /** W8A16 decode GEMV: GB/s of the INT8 rows and scales it reads, beside gemv_f16 on the same shape (F16 weights). */
    private Result gemvInt8(int rows, int cols) {
        long w = DeviceArrays.zeros(d, (long) rows * cols), sc = DeviceArrays.zeros(d, 4L * rows), x = DeviceArrays.zeros(d, 4L * cols),
                y = DeviceArrays.zeros(d, 4L * rows), w16 = DeviceArrays.zeros(d, 2L * rows * cols);
        double ms = time(s -> GemvInt8Kernel.launch(k, s, w, sc, x, y, 0, rows, cols, 1, cols, rows));
        double f16 = time(s -> GemvKernel.launch(k, s, w16, x, y, 0, rows, cols, 1, cols, rows));
        for (long p : new long[]{w, sc, x, y, w16}) d.free(p);
        return new Result("gemv_i8_row", rows + "x" + cols + ", 1 token", ms, ((double) rows * cols + 4.0 * rows) / (ms * 1e6), "GB/s",
                2.0 * rows * cols / (f16 * 1e6), "gemv_f16", f16);
    }

    private static int[] identity(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = i;
        return t;
    }
}
