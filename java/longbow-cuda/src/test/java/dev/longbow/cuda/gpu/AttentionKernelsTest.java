package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.AttentionKernel;
import dev.longbow.cuda.kernels.ConvertKernel;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.KvStoreKernel;
import dev.longbow.cuda.reference.AttentionReference;
import dev.longbow.cuda.reference.F16;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * Prefill (FlashAttention-2 style) and decode (split-KV + reduction) attention over a paged cache whose pages are
 * scattered in the pool (a shuffled block table), filled by kv_store, against the double-precision reference on the
 * same F16 keys and values. Causal; GQA (heads / kvHeads up to 8); windows; temperature; head dims 64 and 128;
 * chunked prefill (startPos > 0); the decode kernel also at head dims 8, 16, 32 and with many queries (how it serves
 * the prefill of small models). Tolerance 2e-3 of the largest output: probabilities enter P V in F16 (prefill), and
 * exp2 in F32 on both kernels.
 */
class AttentionKernelsTest {
    record Case(long kPool, long vPool, long table, float[] k, float[] v) {}

    /** Positions [0, positions) of random keys and values stored through kv_store into scattered pages. */
    static Case cache(GpuDriver d, CudaKernels ks, Random r, int positions, int kvHeads, int headDim) {
        int pages = (positions + AttentionKernel.PAGE - 1) / AttentionKernel.PAGE, poolPages = pages + 3;
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < poolPages; i++) order.add(i);
        Collections.shuffle(order, r);
        int[] table = order.subList(0, pages).stream().mapToInt(Integer::intValue).toArray();
        long pageBytes = 2L * kvHeads * AttentionKernel.PAGE * headDim;
        long kPool = DeviceArrays.zeros(d, pageBytes * poolPages), vPool = DeviceArrays.zeros(d, pageBytes * poolPages);
        long dt = DeviceArrays.upload(d, table);
        float[] k = Gpu.random(r, positions * kvHeads * headDim, 1), v = Gpu.random(r, positions * kvHeads * headDim, 1);
        long dk = DeviceArrays.upload(d, k), dv = DeviceArrays.upload(d, v);
        KvStoreKernel.launch(ks, 0, dk, dv, kPool, vPool, dt, positions, kvHeads, headDim, kvHeads * headDim, kvHeads * headDim, 0);
        d.free(dk);
        d.free(dv);
        for (int i = 0; i < k.length; i++) {
            k[i] = F16.round(k[i]);
            v[i] = F16.round(v[i]);
        }
        return new Case(kPool, vPool, dt, k, v);
    }

    static void free(GpuDriver d, Case c) {
        d.free(c.kPool());
        d.free(c.vPool());
        d.free(c.table());
    }

    @ParameterizedTest
    @CsvSource({"64,8,8,0,100,0,1", "64,8,4,0,64,0,1", "128,32,8,0,300,0,1", "128,32,8,200,77,0,1", "64,16,2,0,513,128,1",
            "128,8,1,1000,130,256,1.3", "64,4,4,0,1,0,1"})
    void prefill(int headDim, int heads, int kvHeads, int startPos, int n, int window, float temperature) {
        GpuDriver d = Gpu.driver();
        CudaKernels ks = Gpu.kernels();
        Random r = new Random(headDim + heads * 7 + startPos + n);
        Case c = cache(d, ks, r, startPos + n, kvHeads, headDim);
        float[] q = Gpu.random(r, n * heads * headDim, 1);
        long dq = DeviceArrays.upload(d, q), dqh = DeviceArrays.zeros(d, 2L * q.length), out = DeviceArrays.zeros(d, 4L * q.length);
        ConvertKernel.launch(ks, 0, dq, dqh, q.length);
        AttentionKernel.prefill(ks, 0, dqh, c.kPool(), c.vPool(), c.table(), out, n, heads, kvHeads, headDim, heads * headDim,
                heads * headDim, startPos, window, temperature);
        float[] qh = q.clone();
        for (int i = 0; i < qh.length; i++) qh[i] = F16.round(qh[i]);
        float[] expected = AttentionReference.apply(qh, c.k(), c.v(), n, heads, kvHeads, headDim, startPos, window, temperature);
        Gpu.assertClose(expected, DeviceArrays.floats(d, out, q.length), 2e-3, "prefill");
        d.free(dq);
        d.free(dqh);
        d.free(out);
        free(d, c);
    }

    @ParameterizedTest
    @CsvSource({"64,8,8,0,1,0,1", "64,8,4,4095,1,0,1", "128,32,8,32767,1,0,1", "128,32,8,1000,4,0,1", "64,16,2,5000,1,4096,1",
            "128,8,1,20,3,8,0.7", "128,64,8,70000,1,0,1", "8,8,4,300,1,0,1", "8,8,4,0,40,0,1", "16,8,4,100,9,16,1",
            "32,4,4,2000,2,0,1"})
    void decode(int headDim, int heads, int kvHeads, int startPos, int n, int window, float temperature) {
        GpuDriver d = Gpu.driver();
        CudaKernels ks = Gpu.kernels();
        Random r = new Random(headDim * 3 + heads + startPos + n);
        Case c = cache(d, ks, r, startPos + n, kvHeads, headDim);
        float[] q = Gpu.random(r, n * heads * headDim, 1);
        AttentionKernel.Split split = AttentionKernel.Split.of(startPos + n, n, heads, d.device().multiprocessors());
        long dq = DeviceArrays.upload(d, q), out = DeviceArrays.zeros(d, 4L * q.length);
        long po = DeviceArrays.zeros(d, 4L * n * heads * split.splits() * headDim), pml = DeviceArrays.zeros(d, 8L * n * heads * split.splits());
        AttentionKernel.decode(ks, 0, dq, c.kPool(), c.vPool(), c.table(), out, po, pml, split, n, heads, kvHeads, headDim,
                heads * headDim, heads * headDim, startPos, window, temperature);
        float[] expected = AttentionReference.apply(q, c.k(), c.v(), n, heads, kvHeads, headDim, startPos, window, temperature);
        Gpu.assertClose(expected, DeviceArrays.floats(d, out, q.length), 2e-3, "decode with " + split);
        d.free(dq);
        d.free(out);
        d.free(po);
        d.free(pml);
        free(d, c);
    }
}
