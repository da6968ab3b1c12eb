package dev.longbow.cuda.ops;

import dev.longbow.LongbowException;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.Tensor;
import dev.longbow.tensor.WeightType;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * Weights on the device, each uploaded once on first use into one arena (sized from the model file up front, so one
 * allocation; more only if the hint was short): matrices as F16 whatever the file stores (quantized types are
 * dequantized row by row on the host), vectors (norm weights, biases) as F32. INT8-row matrices (W8A16) may instead
 * stay INT8 with their row scales ({@link #int8Rows}), 2:4 matrices in their compressed sections ({@link #sparse24}).
 */
final class DeviceWeights implements AutoCloseable {
    private static final long ALIGN = 256, STAGING = 16L << 20;

    private final GpuDriver driver;
    private final Map<Tensor, Long> uploaded = new IdentityHashMap<>();
    private final List<Long> chunks = new ArrayList<>();
    private final MemorySegment staging;
    private long chunkBase, chunkSize, used;
    private final long firstChunk;

    DeviceWeights(GpuDriver driver, long sizeHint) {
        this.driver = driver;
        this.firstChunk = Math.max(sizeHint, 64L << 20);
        this.staging = driver.mallocHost(STAGING);
    }

    long bytes() {
        return used;
    }

    /** The device copy of a matrix, as F16 [rows][cols]. */
    long f16(Tensor t) {
        Long p = uploaded.get(t);
        if (p != null) return p;
        long at = reserve(2L * t.elementCount());
        if (t.type() == WeightType.F16) {
            copyInPieces(t.data(), at, 2L * t.elementCount());
        } else {
            int cols = t.cols(), rowsPerPiece = (int) Math.max(1, STAGING / (2L * cols));
            float[] row = new float[cols];
            for (int r0 = 0; r0 < t.rows(); r0 += rowsPerPiece) {
                int rows = Math.min(rowsPerPiece, t.rows() - r0);
                driver.synchronize(0);
                for (int r = 0; r < rows; r++) {
                    t.readRow(r0 + r, row, 0);
                    long base = 2L * r * cols;
                    for (int c = 0; c < cols; c++) staging.set(JAVA_SHORT_UNALIGNED, base + 2L * c, Float.floatToFloat16(row[c]));
                }
                driver.copyToDevice(at + 2L * r0 * cols, staging, 2L * rows * cols, 0);
            }
        }
        driver.synchronize(0);
        uploaded.put(t, at);
        return at;
    }

    /**
     * The device copy of an INT8-row matrix (W8A16 {@code I8_ROW}, or {@code I8_ROW_A8}, whose bytes are the same) as
     * the file lays it out: rows x cols int8 values, then rows f32 scales at {@link #int8Scales}. Half the bytes of
     * the F16 copy {@link #f16} would make, which is what decode reads per token.
     */
    long int8Rows(Tensor t) {
        Long p = uploaded.get(t);
        if (p != null) return p;
        long values = (long) t.rows() * t.cols();
        long at = reserve(int8ScalesOffset(t) + 4L * t.rows());
        // The file's sections (CompressedLayout): the values, then the scales, which go to an aligned offset here.
        copyInPieces(t.data().asSlice(CompressedLayout.valuesOffset(t.type(), t.cols(), 0), values), at, values);
        copyInPieces(t.data().asSlice(CompressedLayout.scaleOffset(t.type(), t.rows(), t.cols(), 0), 4L * t.rows()),
                at + int8ScalesOffset(t), 4L * t.rows());
        driver.synchronize(0);
        uploaded.put(t, at);
        return at;
    }

    /** A 2:4 matrix on the device, its file's sections each at an aligned address; scale 0 for F16 kept values. */
    record Sparse24(long values, long index, long scale) {}

    private final Map<Tensor, Sparse24> sparse = new IdentityHashMap<>();

    /** The device copy of a 2:4 matrix ({@code S24_F16}, {@code S24_I8}) as the file lays it out: only its compressed bytes. */
    Sparse24 sparse24(Tensor t) {
        Sparse24 s = sparse.get(t);
        if (s != null) return s;
        int rows = t.rows(), cols = t.cols();
        long valueBytes = CompressedLayout.indexOffset(t.type(), rows, cols, 0) - CompressedLayout.valuesOffset(t.type(), cols, 0);
        long indexBytes = (long) rows * ((cols + 7) / 8);
        long values = reserve(valueBytes), index = reserve(indexBytes);
        copyInPieces(t.data().asSlice(CompressedLayout.valuesOffset(t.type(), cols, 0), valueBytes), values, valueBytes);
        copyInPieces(t.data().asSlice(CompressedLayout.indexOffset(t.type(), rows, cols, 0), indexBytes), index, indexBytes);
        long scale = 0;
        if (t.type() == WeightType.S24_I8) {
            scale = reserve(4L * rows);
            copyInPieces(t.data().asSlice(CompressedLayout.scaleOffset(t.type(), rows, cols, 0), 4L * rows), scale, 4L * rows);
        }
        driver.synchronize(0);
        s = new Sparse24(values, index, scale);
        sparse.put(t, s);
        return s;
    }

    /** Where {@link #int8Rows}'s scales start, from its values. */
    static long int8ScalesOffset(Tensor t) {
        return ((long) t.rows() * t.cols() + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** The device copy of a vector, as F32. */
    long f32(Tensor t) {
        Long p = uploaded.get(t);
        if (p != null) return p;
        float[] v = t.toFloatArray();
        long at = reserve(4L * v.length);
        driver.synchronize(0);
        for (int i = 0; i < v.length; i++) staging.set(JAVA_FLOAT_UNALIGNED, 4L * i, v[i]);
        driver.copyToDevice(at, staging, 4L * v.length, 0);
        driver.synchronize(0);
        uploaded.put(t, at);
        return at;
    }

    private void copyInPieces(MemorySegment src, long dst, long bytes) {
        for (long off = 0; off < bytes; off += STAGING) {
            long n = Math.min(STAGING, bytes - off);
            driver.synchronize(0);
            MemorySegment.copy(src, off, staging, 0, n);
            driver.copyToDevice(dst + off, staging, n, 0);
        }
    }

    private long reserve(long bytes) {
        long size = (bytes + ALIGN - 1) / ALIGN * ALIGN;
        if (chunkBase == 0 || used + size > chunkSize) {
            long want = chunks.isEmpty() ? Math.max(firstChunk, size) : Math.max(size, 256L << 20);
            try {
                chunkBase = driver.malloc(want);
            } catch (LongbowException e) {
                throw new LongbowException("the model's weights do not fit in GPU memory (" + (used + want >> 20) + " MiB wanted): " + e.getMessage());
            }
            chunks.add(chunkBase);
            chunkSize = want;
            used = 0;
        }
        long at = chunkBase + used;
        used += size;
        return at;
    }

    @Override
    public void close() {
        for (long c : chunks) driver.free(c);
        driver.freeHost(staging);
    }
}
