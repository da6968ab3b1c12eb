package dev.longbow.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

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
        long size = bytes / STRIDE * STRIDE;
        try (Arena arena = Arena.ofShared(); WorkerPool pool = new WorkerPool(threads)) {
            MemorySegment buf = arena.allocate(size, 64);
            buf.fill((byte) 1); // touch every page so the timed passes measure reads, not page faults
            // The loop lives in a static method: written in the lambda, it saw the species as a captured value rather
            // than a constant, and ran at a quarter of the speed (11 GB/s on one core where C reads 40).
            int tasks = threads * 8;
            long perTask = size / STRIDE / tasks * STRIDE;
            float[] sink = new float[tasks];
            long best = Long.MAX_VALUE;
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                pool.run(tasks, task -> sink[task] = sum(buf, task * perTask, (task + 1) * perTask));
                best = Math.min(best, System.nanoTime() - t0);
            }
            return perTask * tasks / (double) best;
        }
    }

    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final long STRIDE = F.vectorByteSize() * 4L;

    /** The sum of [from, to) as floats, four independent accumulators; returned so the loads are not optimised away. */
    private static float sum(MemorySegment buf, long from, long to) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (long o = from; o < to; o += STRIDE) {
            a = a.add(FloatVector.fromMemorySegment(F, buf, o, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(F, buf, o + F.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(F, buf, o + 2L * F.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(F, buf, o + 3L * F.vectorByteSize(), ByteOrder.LITTLE_ENDIAN));
        }
        return VectorKernels.sum(a.add(b).add(c).add(d));
    }
}
