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

    CpuKvCache(int layers, int contextLength, int kvDim) {
        this.contextLength = contextLength;
        this.kvDim = kvDim;
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

    /** Byte offset of position {@code pos} in {@code layer}. */
    long offset(int layer, int pos) {
        return 4L * ((long) layer * contextLength + pos) * kvDim;
    }

    float key(long byteOffset) {
        return keys.get(ValueLayout.JAVA_FLOAT, byteOffset);
    }

    float value(long byteOffset) {
        return values.get(ValueLayout.JAVA_FLOAT, byteOffset);
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
