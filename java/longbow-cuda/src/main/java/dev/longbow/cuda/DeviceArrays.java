package dev.longbow.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Synchronous copies of Java arrays to and from fresh device allocations, through a temporary native buffer: for
 * tests, setup and one-time uploads, not for the per-token path (CudaOps keeps pinned staging buffers for that).
 */
public final class DeviceArrays {
    private DeviceArrays() {}

    public static long upload(GpuDriver d, float[] a) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_FLOAT, Math.max(1, a.length));
            MemorySegment.copy(a, 0, s, JAVA_FLOAT, 0, a.length);
            return upload(d, s, 4L * a.length);
        }
    }

    public static long upload(GpuDriver d, short[] a) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_SHORT, Math.max(1, a.length));
            MemorySegment.copy(a, 0, s, JAVA_SHORT, 0, a.length);
            return upload(d, s, 2L * a.length);
        }
    }

    public static long upload(GpuDriver d, byte[] a) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Math.max(1, a.length), 16);
            MemorySegment.copy(a, 0, s, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, a.length);
            return upload(d, s, a.length);
        }
    }

    public static byte[] bytes(GpuDriver d, long src, int count) {
        d.synchronize(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Math.max(1, count), 16);
            d.copyToHost(s, src, count, 0);
            d.synchronize(0);
            return s.asSlice(0, count).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** count halves (F16 bits) read back from the device. */
    public static short[] shorts(GpuDriver d, long src, int count) {
        d.synchronize(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_SHORT, Math.max(1, count));
            d.copyToHost(s, src, 2L * count, 0);
            d.synchronize(0);
            return s.asSlice(0, 2L * count).toArray(JAVA_SHORT);
        }
    }

    public static long upload(GpuDriver d, int[] a) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_INT, Math.max(1, a.length));
            MemorySegment.copy(a, 0, s, JAVA_INT, 0, a.length);
            return upload(d, s, 4L * a.length);
        }
    }

    private static long upload(GpuDriver d, MemorySegment s, long bytes) {
        long p = d.malloc(Math.max(bytes, 16));
        d.copyToDevice(p, s, bytes, 0);
        d.synchronize(0);
        return p;
    }

    /** A zero-filled allocation of {@code bytes}. */
    public static long zeros(GpuDriver d, long bytes) {
        long p = d.malloc(Math.max(bytes, 16));
        d.memset(p, (byte) 0, Math.max(bytes, 16), 0);
        return p;
    }

    public static float[] floats(GpuDriver d, long src, int count) {
        d.synchronize(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_FLOAT, Math.max(1, count));
            d.copyToHost(s, src, 4L * count, 0);
            d.synchronize(0);
            return s.asSlice(0, 4L * count).toArray(JAVA_FLOAT);
        }
    }

    public static int[] ints(GpuDriver d, long src, int count) {
        d.synchronize(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(JAVA_INT, Math.max(1, count));
            d.copyToHost(s, src, 4L * count, 0);
            d.synchronize(0);
            return s.asSlice(0, 4L * count).toArray(JAVA_INT);
        }
    }
}
