package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/kv_store.cu: keys and values of positions startPos.. into their pages of the F16 paged cache. */
public final class KvStoreKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("KvStoreParams", JAVA_LONG.withName("k"), JAVA_LONG.withName("v"),
            JAVA_LONG.withName("k_pool"), JAVA_LONG.withName("v_pool"), JAVA_LONG.withName("block_table"),
            JAVA_INT.withName("n"), JAVA_INT.withName("kv_heads"), JAVA_INT.withName("head_dim"), JAVA_INT.withName("k_stride"),
            JAVA_INT.withName("v_stride"), JAVA_INT.withName("start_pos"));

    private KvStoreKernel() {}

    public static void launch(CudaKernels ks, long stream, long k, long v, long kPool, long vPool, long blockTable,
                              int n, int kvHeads, int headDim, int kStride, int vStride, int startPos) {
        MemorySegment p = ks.params();
        p.set(JAVA_LONG, PARAMS.offset("k"), k);
        p.set(JAVA_LONG, PARAMS.offset("v"), v);
        p.set(JAVA_LONG, PARAMS.offset("k_pool"), kPool);
        p.set(JAVA_LONG, PARAMS.offset("v_pool"), vPool);
        p.set(JAVA_LONG, PARAMS.offset("block_table"), blockTable);
        p.set(JAVA_INT, PARAMS.offset("n"), n);
        p.set(JAVA_INT, PARAMS.offset("kv_heads"), kvHeads);
        p.set(JAVA_INT, PARAMS.offset("head_dim"), headDim);
        p.set(JAVA_INT, PARAMS.offset("k_stride"), kStride);
        p.set(JAVA_INT, PARAMS.offset("v_stride"), vStride);
        p.set(JAVA_INT, PARAMS.offset("start_pos"), startPos);
        ks.launch(ks.kvStore, n, kvHeads, 1, headDim, stream);
    }
}
