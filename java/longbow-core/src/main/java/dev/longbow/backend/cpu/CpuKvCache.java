package dev.longbow.backend.cpu;

import dev.longbow.backend.KvCache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** FP32 keys and values off the heap, laid out [layer][position][kvDim]. */
final class CpuKvCache implements KvCache {
    private final Arena arena = Arena.ofShared();
    final MemorySegment keys;
    final MemorySegment values;
    final int contextLength;
    final int kvDim;
    final int headDim;

    CpuKvCache(int layers, int contextLength, int kvDim, int headDim) {
        this.contextLength = contextLength;
        this.kvDim = kvDim;
        this.headDim = headDim;
        long bytes = 4L * layers * contextLength * kvDim;
        // Allocation zero-fills, so an over-large cache would be killed by the OS rather than fail cleanly: check first.
        long physical = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
        if (physical > 0 && 2 * bytes > physical) {
            throw new dev.longbow.LongbowException(String.format("the KV cache for a context of %,d tokens needs %.1f GiB, more than this machine's %.1f GiB of memory; use a smaller --ctx",
                    contextLength, 2.0 * bytes / (1L << 30), physical / (double) (1L << 30)));
        }
        try {
            keys = arena.allocate(bytes, 64);
            values = arena.allocate(bytes, 64);
        } catch (OutOfMemoryError e) {
            arena.close();
            throw new dev.longbow.LongbowException(String.format("the KV cache for a context of %,d tokens needs %.1f GiB, more than can be allocated here; use a smaller --ctx",
                    contextLength, 2.0 * bytes / (1L << 30)));
        }
    }

    @Override
    public long bytes() {
        return keys.byteSize() + values.byteSize();
    }

    /** Byte offset of position {@code pos} in {@code layer}. */
    private long offset(int layer, int pos) {
        return 4L * ((long) layer * contextLength + pos) * kvDim;
    }

    void store(int layer, int pos, float[] k, int ko, float[] v, int vo) {
        long off = offset(layer, pos);
        MemorySegment.copy(k, ko, keys, ValueLayout.JAVA_FLOAT, off, kvDim);
        MemorySegment.copy(v, vo, values, ValueLayout.JAVA_FLOAT, off, kvDim);
    }

    /** q · key of head {@code kvHead} at {@code pos}, with the Vector API. */
    float dotKey(float[] q, int qo, int layer, int pos, int kvHead) {
        return VectorKernels.dot(q, qo, keys, offset(layer, pos) + 4L * kvHead * headDim, headDim);
    }

    /** out += w * value of head {@code kvHead} at {@code pos}, with the Vector API. */
    void addValue(float w, int layer, int pos, int kvHead, float[] out, int oo) {
        VectorKernels.axpy(w, values, offset(layer, pos) + 4L * kvHead * headDim, out, oo, headDim);
    }

    /** q · key in run.c's order. */
    float dotKeyReference(float[] q, int qo, int layer, int pos, int kvHead) {
        long ko = offset(layer, pos) + 4L * kvHead * headDim;
        float score = 0.0f;
        for (int i = 0; i < headDim; i++) score += q[qo + i] * keys.get(ValueLayout.JAVA_FLOAT, ko + 4L * i);
        return score;
    }

    /** out += w * value in run.c's order. */
    void addValueReference(float w, int layer, int pos, int kvHead, float[] out, int oo) {
        long vo = offset(layer, pos) + 4L * kvHead * headDim;
        for (int i = 0; i < headDim; i++) out[oo + i] += w * values.get(ValueLayout.JAVA_FLOAT, vo + 4L * i);
    }

    @Override
    public int contextLength() {
        return contextLength;
    }

    @Override
    public void close() {
        arena.close();
    }
}
