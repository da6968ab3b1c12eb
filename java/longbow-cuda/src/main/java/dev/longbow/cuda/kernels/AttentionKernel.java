package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuda-kernels/attention_prefill.cu and attention_decode.cu over the paged cache (pages of {@link #PAGE} positions,
 * see attention.cuh): FlashAttention-2-style prefill for many queries, flash-decoding (split-KV plus a reduction)
 * for few (and for any number at head dims the prefill kernel lacks). Causal, GQA, sliding window; prefill at head_dim
 * 64 and 128, decode at 8, 16, 32, 64 and 128.
 */
public final class AttentionKernel {
    public static final int PAGE = 64;
    /** Below this many queries decode's split-KV kernel fills the GPU better than 64-query prefill tiles. */
    public static final int DECODE_MAX_QUERIES = 16;
    public static final ParamStruct PARAMS = ParamStruct.of("AttentionParams", JAVA_LONG.withName("q_half"), JAVA_LONG.withName("q"),
            JAVA_LONG.withName("k_pool"), JAVA_LONG.withName("v_pool"), JAVA_LONG.withName("block_table"), JAVA_LONG.withName("out"),
            JAVA_LONG.withName("partial_o"), JAVA_LONG.withName("partial_ml"), JAVA_LONG.withName("start_pos_ptr"), JAVA_INT.withName("n"), JAVA_INT.withName("heads"),
            JAVA_INT.withName("kv_heads"), JAVA_INT.withName("q_stride"), JAVA_INT.withName("out_stride"), JAVA_INT.withName("start_pos"),
            JAVA_INT.withName("window"), JAVA_INT.withName("keys_per_split"), JAVA_INT.withName("splits"), JAVA_FLOAT.withName("scale_log2"),
            JAVA_INT.withName("head_dim"), JAVA_INT.withName("pad"));

    private static final double LOG2_E = 1.4426950408889634;

    private AttentionKernel() {}

    public static boolean prefillSupports(int headDim) {
        return headDim == 64 || headDim == 128;
    }

    public static boolean decodeSupports(int headDim) {
        return headDim == 8 || headDim == 16 || headDim == 32 || headDim == 64 || headDim == 128;
    }

    /** log2(e) / (sqrt(headDim) * temperature): scores go straight into exp2. */
    public static float scaleLog2(int headDim, float temperature) {
        return (float) (LOG2_E / (Math.sqrt(headDim) * temperature));
    }

    /** The shape of a decode launch: how many splits of how many positions (a multiple of the page) cover the keys. */
    public record Split(int splits, int keysPerSplit) {
        /** Enough splits to give each SM a few blocks, no split shorter than a page. */
        public static Split of(int keys, int queries, int heads, int multiprocessors) {
            int target = Math.max(1, (4 * multiprocessors + queries * heads - 1) / (queries * heads));
            int pages = (keys + PAGE - 1) / PAGE;
            int perSplit = Math.max(1, (pages + target - 1) / target);
            return new Split((pages + perSplit - 1) / perSplit, perSplit * PAGE);
        }
    }

    public static void prefill(CudaKernels ks, long stream, long qHalf, long kPool, long vPool, long blockTable, long out,
                               int n, int heads, int kvHeads, int headDim, int qStride, int outStride, int startPos, int window,
                               float temperature) {
        if (!prefillSupports(headDim)) throw new IllegalArgumentException("attention_prefill takes head_dim 64 or 128, got " + headDim);
        MemorySegment p = common(ks, qHalf, 0, kPool, vPool, blockTable, out, n, heads, kvHeads, headDim, qStride, outStride,
                startPos, window, temperature);
        ks.launch(headDim == 64 ? ks.prefill64 : ks.prefill128, (n + 63) / 64, heads, 1, 128, stream);
    }

    /** partialO: n * heads * split.splits() * headDim floats; partialMl: n * heads * split.splits() * 2 floats. */
    public static void decode(CudaKernels ks, long stream, long q, long kPool, long vPool, long blockTable, long out,
                              long partialO, long partialMl, Split split, int n, int heads, int kvHeads, int headDim,
                              int qStride, int outStride, int startPos, int window, float temperature) {
        decode(ks, stream, q, kPool, vPool, blockTable, out, partialO, partialMl, split, n, heads, kvHeads, headDim, qStride,
                outStride, startPos, 0, window, temperature);
    }

    /**
     * startPosPtr: 0, or a device int holding the start position, read at run time (a captured decode graph replays
     * with each step's position; its split must then cover the whole context, see {@link Split#of}).
     */
    public static void decode(CudaKernels ks, long stream, long q, long kPool, long vPool, long blockTable, long out,
                              long partialO, long partialMl, Split split, int n, int heads, int kvHeads, int headDim,
                              int qStride, int outStride, int startPos, long startPosPtr, int window, float temperature) {
        if (!decodeSupports(headDim)) throw new IllegalArgumentException("attention_decode takes head_dim 8, 16, 32, 64 or 128, got " + headDim);
        MemorySegment p = common(ks, 0, q, kPool, vPool, blockTable, out, n, heads, kvHeads, headDim, qStride, outStride,
                startPos, window, temperature);
        p.set(JAVA_LONG, PARAMS.offset("start_pos_ptr"), startPosPtr);
        p.set(JAVA_LONG, PARAMS.offset("partial_o"), partialO);
        p.set(JAVA_LONG, PARAMS.offset("partial_ml"), partialMl);
        p.set(JAVA_INT, PARAMS.offset("keys_per_split"), split.keysPerSplit());
        p.set(JAVA_INT, PARAMS.offset("splits"), split.splits());
        long f = switch (headDim) {
            case 8 -> ks.decode8;
            case 16 -> ks.decode16;
            case 32 -> ks.decode32;
            case 64 -> ks.decode64;
            default -> ks.decode128;
        };
        ks.launch(f, split.splits(), heads, n, 128, stream);
        // The same parameter block: the reduction reads the partials the decode kernel wrote.
        ks.driver.launch(ks.reduce, heads, n, 1, headDim, 1, 1, 0, stream, p);
    }

    private static MemorySegment common(CudaKernels ks, long qHalf, long q, long kPool, long vPool, long blockTable, long out,
                                        int n, int heads, int kvHeads, int headDim, int qStride, int outStride, int startPos,
                                        int window, float temperature) {
        MemorySegment p = ks.params();
        p.set(JAVA_LONG, PARAMS.offset("q_half"), qHalf);
        p.set(JAVA_LONG, PARAMS.offset("q"), q);
        p.set(JAVA_LONG, PARAMS.offset("k_pool"), kPool);
        p.set(JAVA_LONG, PARAMS.offset("v_pool"), vPool);
        p.set(JAVA_LONG, PARAMS.offset("block_table"), blockTable);
        p.set(JAVA_LONG, PARAMS.offset("out"), out);
        p.set(JAVA_INT, PARAMS.offset("n"), n);
        p.set(JAVA_INT, PARAMS.offset("heads"), heads);
        p.set(JAVA_INT, PARAMS.offset("kv_heads"), kvHeads);
        p.set(JAVA_INT, PARAMS.offset("q_stride"), qStride);
        p.set(JAVA_INT, PARAMS.offset("out_stride"), outStride);
        p.set(JAVA_INT, PARAMS.offset("start_pos"), startPos);
        p.set(JAVA_INT, PARAMS.offset("window"), window);
        p.set(JAVA_FLOAT, PARAMS.offset("scale_log2"), scaleLog2(headDim, temperature));
        p.set(JAVA_INT, PARAMS.offset("head_dim"), headDim);
        return p;
    }
}
