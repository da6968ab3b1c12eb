package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.GemvS24Kernel;
import dev.longbow.cuda.reference.MatmulReference;
import dev.longbow.tensor.CompressedLayout;
import dev.longbow.tensor.WeightType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.MemorySegment;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * 2:4 kernels (cuda-kernels/gemv_s24.cu) on matrices written by the file format's own encoder (CompressedLayout, the
 * bytes `longbow prune` writes): the decode GEMV against the double-precision product of the dense matrix the file
 * stands for (1e-4 of the largest output; stories260K's widths, odd ones, Llama-3-8B's), and the prefill widening
 * to F16 bit for bit against CompressedLayout's own decompression, rounded to F16.
 */
class Sparse24KernelsTest {
    record Uploaded(long values, long index, long scale, float[] dense) {}

    static Uploaded upload(GpuDriver d, WeightType type, Random r, int rows, int cols) {
        float[] w = Gpu.random(r, rows * cols, 0.05f);
        MemorySegment file = MemorySegment.ofArray(CompressedLayout.encode(type, w, rows, cols, null));
        long indexAt = CompressedLayout.indexOffset(type, rows, cols, 0), valuesAt = CompressedLayout.valuesOffset(type, cols, 0);
        byte[] values = file.asSlice(valuesAt, indexAt - valuesAt).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        byte[] index = file.asSlice(indexAt, (long) rows * ((cols + 7) / 8)).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        long scale = 0;
        if (type == WeightType.S24_I8) {
            float[] s = new float[rows];
            for (int i = 0; i < rows; i++) s[i] = CompressedLayout.scale(file, type, rows, cols, i);
            scale = DeviceArrays.upload(d, s);
        }
        float[] dense = new float[rows * cols];
        for (int i = 0; i < rows; i++) CompressedLayout.dequantizeRow(type, file, rows, cols, i, dense, i * cols);
        return new Uploaded(DeviceArrays.upload(d, values), DeviceArrays.upload(d, index), scale, dense);
    }

    @ParameterizedTest
    @CsvSource({"S24_F16,172,64,1", "S24_I8,64,172,3", "S24_F16,1000,264,8", "S24_I8,4096,4096,1", "S24_F16,14336,4096,2", "S24_I8,4096,14336,1", "S24_F16,513,1028,11"})
    void gemv(WeightType type, int rows, int cols, int n) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(rows * 17 + cols);
        Uploaded u = upload(d, type, r, rows, cols);
        float[] x = Gpu.random(r, n * cols, 1), bias = Gpu.random(r, rows, 1);
        long dx = DeviceArrays.upload(d, x), db = DeviceArrays.upload(d, bias), dy = DeviceArrays.zeros(d, 4L * n * rows);
        GemvS24Kernel.launch(k, 0, u.values(), u.index(), u.scale(), dx, dy, db, rows, cols, n, cols, rows);
        Gpu.assertClose(MatmulReference.gemvDense(u.dense(), x, bias, rows, cols, n), DeviceArrays.floats(d, dy, n * rows), 1e-4,
                type + " " + rows + "x" + cols + " n=" + n);
        for (long p : new long[]{u.values(), u.index(), u.scale(), dx, db, dy}) if (p != 0) d.free(p);
    }

    @ParameterizedTest
    @CsvSource({"S24_F16,300,4096", "S24_I8,300,4096", "S24_I8,7,172"})
    void widenIsExact(WeightType type, int rows, int cols) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Uploaded u = upload(d, type, new Random(rows + cols), rows, cols);
        long dh = DeviceArrays.zeros(d, 2L * rows * cols);
        GemvS24Kernel.widen(k, 0, u.values(), u.index(), u.scale(), dh, rows, cols);
        short[] want = new short[rows * cols];
        for (int i = 0; i < want.length; i++) want[i] = Float.floatToFloat16(u.dense()[i]);
        assertArrayEquals(want, DeviceArrays.shorts(d, dh, rows * cols), type + " " + rows + "x" + cols);
        for (long p : new long[]{u.values(), u.index(), u.scale(), dh}) if (p != 0) d.free(p);
    }
}
