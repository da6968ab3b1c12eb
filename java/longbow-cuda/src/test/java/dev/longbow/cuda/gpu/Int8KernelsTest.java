package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.GemvInt8Kernel;
import dev.longbow.cuda.reference.MatmulReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * W8A16 kernels (cuda-kernels/gemv_int8.cu) against the double-precision reference on the same INT8 rows and row
 * scales: the decode GEMV (F32 accumulation: 1e-4 of the largest output), on stories260K's widths (cols 172: the
 * scalar path), odd shapes, and Llama-3-8B's (4096 -> 4096, 4096 -> 14336, 14336 -> 4096, the 128,256-row
 * classifier); the prefill widening to F16, bit for bit.
 */
class Int8KernelsTest {
    static byte[] int8(Random r, int count) {
        byte[] b = new byte[count];
        for (int i = 0; i < count; i++) b[i] = (byte) (r.nextInt(255) - 127);
        return b;
    }

    @ParameterizedTest
    @CsvSource({"172,64,1", "64,172,3", "1000,272,8", "4096,4096,1", "14336,4096,2", "4096,14336,1", "513,1024,11", "128256,4096,1"})
    void gemvInt8Rows(int rows, int cols, int n) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(rows * 13 + cols);
        byte[] w = int8(r, rows * cols);
        float[] scale = Gpu.random(r, rows, 0.001f), x = Gpu.random(r, n * cols, 1), bias = Gpu.random(r, rows, 1);
        long dw = DeviceArrays.upload(d, w), ds = DeviceArrays.upload(d, scale), dx = DeviceArrays.upload(d, x), db = DeviceArrays.upload(d, bias);
        long dy = DeviceArrays.zeros(d, 4L * n * rows);
        GemvInt8Kernel.launch(k, 0, dw, ds, dx, dy, db, rows, cols, n, cols, rows);
        Gpu.assertClose(MatmulReference.gemvInt8Rows(w, scale, x, bias, rows, cols, n), DeviceArrays.floats(d, dy, n * rows), 1e-4,
                "gemv_i8_row " + rows + "x" + cols + " n=" + n);
        for (long p : new long[]{dw, ds, dx, db, dy}) d.free(p);
    }

    @Test
    void dequantizeIsExact() {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(5);
        int rows = 300, cols = 4096;
        byte[] w = int8(r, rows * cols);
        float[] scale = Gpu.random(r, rows, 0.01f);
        long dw = DeviceArrays.upload(d, w), ds = DeviceArrays.upload(d, scale), dh = DeviceArrays.zeros(d, 2L * rows * cols);
        GemvInt8Kernel.dequantize(k, 0, dw, ds, dh, rows, cols);
        assertArrayEquals(MatmulReference.dequantizeInt8Rows(w, scale, rows, cols), DeviceArrays.shorts(d, dh, rows * cols));
        for (long p : new long[]{dw, ds, dh}) d.free(p);
    }
}
