package dev.longbow.cuda.kernels;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** cuda-kernels/kv_store.cu: keys and values of positions startPos.. into their pages of the F16 paged cache. */
public final class KvStoreKernel {
    public static final ParamStruct PARAMS = ParamStruct.of("KvStoreParams", JAVA_LONG.withName("k"), JAVA_LONG.withName("v"),
            JAVA_LONG.withName("k_pool"), JAVA_LONG.withName("v_pool"), JAVA_LONG.withName("block_table"),
            JAVA_LONG.withName("start_pos_ptr"), JAVA_INT.withName("n"), JAVA_INT.withName("kv_heads"), JAVA_INT.withName("head_dim"), JAVA_INT.withName("k_stride"),
            JAVA_INT.withName("v_stride"), JAVA_INT.withName("start_pos"));

    private KvStoreKernel() {}

    public static void launch(CudaKernels ks, long stream, long k, long v, long kPool, long vPool, long blockTable,
                              int n, int kvHeads, int headDim, int kStride, int vStride, int startPos) {
        launch(ks, stream, k, v, kPool, vPool, blockTable, n, kvHeads, headDim, kStride, vStride, startPos, 0);
    }

    /** startPosPtr: 0, or a device int holding the start position (read at run time: a captured graph's steps). */
    public static void launch(CudaKernels ks, long stream, long k, long v, long kPool, long vPool, long blockTable,
                              int n, int kvHeads, int headDim, int kStride, int vStride, int startPos, long startPosPtr) {
        MemorySegment p = ks.params();
        p.set(JAVA_LONG, PARAMS.offset("start_pos_ptr"), startPosPtr);
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
