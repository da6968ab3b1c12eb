package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.GemmInt8Kernel;
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
 * classifier); the prefill widening to F16, bit for bit. W8A8 (cuda-kernels/gemm_int8.cu): the INT8 tensor-core GEMM's
 * raw int32 sums exactly (odd shapes with partial tiles, 4096^3 and Llama-3-8B's projections at 2048 tokens), its
 * scaled F32 output within 1e-6 of the largest value, and the per-row quantization of activations exactly as the CPU's.
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

    @ParameterizedTest
    @CsvSource({"1,64,64", "100,200,128", "130,260,192", "512,4096,4096", "2048,1024,4096", "256,14336,4096", "128,4096,14336", "4096,4096,4096"})
    void gemmInt8IsExact(int m, int n, int kk) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(m * 31 + n + kk);
        byte[] a = int8(r, m * kk), b = int8(r, n * kk);
        long da = DeviceArrays.upload(d, a), db = DeviceArrays.upload(d, b), dc = DeviceArrays.zeros(d, 4L * m * n);
        GemmInt8Kernel.launch(k, 0, da, db, dc, 0, 0, 0, m, n, kk, n);
        assertArrayEquals(MatmulReference.gemmInt8(a, b, m, n, kk), DeviceArrays.ints(d, dc, m * n), "gemm_i8_tn " + m + "x" + n + "x" + kk);
        for (long p : new long[]{da, db, dc}) d.free(p);
    }

    @Test
    void gemmInt8ScalesAndBias() {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(9);
        int m = 70, n = 300, kk = 256;
        byte[] a = int8(r, m * kk), b = int8(r, n * kk);
        float[] as = Gpu.random(r, m, 0.01f), bs = Gpu.random(r, n, 0.01f), bias = Gpu.random(r, n, 1);
        int[] sums = MatmulReference.gemmInt8(a, b, m, n, kk);
        float[] want = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) want[i * n + j] = sums[i * n + j] * (as[i] * bs[j]) + bias[j];
        long da = DeviceArrays.upload(d, a), db = DeviceArrays.upload(d, b), das = DeviceArrays.upload(d, as), dbs = DeviceArrays.upload(d, bs);
        long dbias = DeviceArrays.upload(d, bias), dc = DeviceArrays.zeros(d, 4L * m * n);
        GemmInt8Kernel.launch(k, 0, da, db, dc, das, dbs, dbias, m, n, kk, n);
        Gpu.assertClose(want, DeviceArrays.floats(d, dc, m * n), 1e-6, "gemm_i8_tn scaled");
        for (long p : new long[]{da, db, das, dbs, dbias, dc}) d.free(p);
    }

    @Test
    void quantizeRowsMatchesTheCpu() {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(10);
        int rows = 37, cols = 4096;
        float[] x = Gpu.random(r, rows * cols, 3);
        java.util.Arrays.fill(x, 5 * cols, 6 * cols, 0f); // an all-zero row: scale 0, values 0
        float[] scales = new float[rows];
        byte[] want = MatmulReference.quantizeRowsInt8(x, rows, cols, scales);
        long dx = DeviceArrays.upload(d, x), dq = DeviceArrays.zeros(d, (long) rows * cols), ds = DeviceArrays.zeros(d, 4L * rows);
        GemmInt8Kernel.quantizeRows(k, 0, dx, dq, ds, rows, cols);
        assertArrayEquals(scales, DeviceArrays.floats(d, ds, rows), "row scales");
        assertArrayEquals(want, DeviceArrays.bytes(d, dq, rows * cols), "int8 values");
        for (long p : new long[]{dx, dq, ds}) d.free(p);
    }
}
