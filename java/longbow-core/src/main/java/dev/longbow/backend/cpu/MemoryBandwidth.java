package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The machine's read bandwidth as a streaming kernel sees it: every thread sums its share of a buffer far larger
 * than the caches. Batch-1 decode reads every weight once per token, so this over the weight bytes is the ceiling
 * on decode speed that benchmarks report against.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    /** Best of {@code rounds} passes over {@code bytes} bytes with {@code threads} threads, in GB/s (10^9 bytes). */
    public static double readGigabytesPerSecond(int threads, long bytes, int rounds) {
        var f = VectorKernels.F;
        long stride = f.vectorByteSize() * 4L;
        long size = bytes / stride * stride;
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            MemorySegment buf = arena.allocate(size, 64);
            buf.fill((byte) 1); // touch every page so the timed passes measure reads, not page faults
            int tasks = threads * 8;
            long perTask = size / stride / tasks * stride;
            float[] sink = new float[tasks];
            long best = Long.MAX_VALUE;
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                pool.run(tasks, task -> {
                    FloatVector a = FloatVector.zero(f), b = FloatVector.zero(f), c = FloatVector.zero(f), d = FloatVector.zero(f);
                    long end = (task + 1) * perTask;
                    for (long o = task * perTask; o < end; o += stride) {
                        a = a.add(FloatVector.fromMemorySegment(f, buf, o, ByteOrder.LITTLE_ENDIAN));
                        b = b.add(FloatVector.fromMemorySegment(f, buf, o + f.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
                        c = c.add(FloatVector.fromMemorySegment(f, buf, o + 2L * f.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
                        d = d.add(FloatVector.fromMemorySegment(f, buf, o + 3L * f.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
                    }
                    sink[task] = VectorKernels.sum(a.add(b).add(c).add(d)); // keeps the loads from being optimised away
                });
                best = Math.min(best, System.nanoTime() - t0);
            }
            return perTask * tasks / (double) best;
        }
    }
}
