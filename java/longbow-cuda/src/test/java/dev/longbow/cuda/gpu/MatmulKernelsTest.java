package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.GemmKernel;
import dev.longbow.cuda.kernels.GemvKernel;
import dev.longbow.cuda.reference.F16;
import dev.longbow.cuda.reference.MatmulReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

/**
 * The decode GEMV and the tensor-core GEMM against the double-precision reference on the same F16 inputs. Shapes:
 * stories260K's (64 -> 172, cols not a multiple of 8: the GEMV's scalar path), odd ones that leave partial tiles,
 * and Llama-3-8B's (4096 -> 4096, 4096 -> 14336, 14336 -> 4096). Tolerance 1e-4 of the largest output for GEMV
 * (F32 accumulation), 5e-4 for the GEMM (F32 accumulation in the tensor cores' order over k up to 14336).
 */
class MatmulKernelsTest {
    @ParameterizedTest
    @CsvSource({"172,64,1", "64,172,3", "1000,264,8", "4096,4096,1", "14336,4096,2", "4096,14336,1", "513,1024,11"})
    void gemv(int rows, int cols, int n) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(rows * 7 + cols);
        short[] w = F16.of(Gpu.random(r, rows * cols, 0.05f));
        float[] x = Gpu.random(r, n * cols, 1), bias = Gpu.random(r, rows, 1);
        long dw = DeviceArrays.upload(d, w), dx = DeviceArrays.upload(d, x), db = DeviceArrays.upload(d, bias), dy = DeviceArrays.zeros(d, 4L * n * rows);
        GemvKernel.launch(k, 0, dw, dx, dy, db, rows, cols, n, cols, rows);
        Gpu.assertClose(MatmulReference.gemv(w, x, bias, rows, cols, n), DeviceArrays.floats(d, dy, n * rows), 1e-4, "gemv " + rows + "x" + cols + " n=" + n);
        d.free(dw);
        d.free(dx);
        d.free(db);
        d.free(dy);
    }

    @ParameterizedTest
    @CsvSource({"1,64,64", "100,172,64", "130,260,96", "512,4096,4096", "256,14336,4096", "128,4096,14336", "4096,4096,4096"})
    void gemm(int m, int n, int kk) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(m * 31 + n + kk);
        short[] a = F16.of(Gpu.random(r, m * kk, 1)), b = F16.of(Gpu.random(r, n * kk, 0.05f));
        float[] bias = Gpu.random(r, n, 1);
        long da = DeviceArrays.upload(d, a), dbm = DeviceArrays.upload(d, b), dbias = DeviceArrays.upload(d, bias), dc = DeviceArrays.zeros(d, 4L * m * n);
        GemmKernel.launch(k, 0, da, dbm, dc, dbias, m, n, kk, n);
        Gpu.assertClose(MatmulReference.gemm(a, b, bias, m, n, kk), DeviceArrays.floats(d, dc, m * n), 5e-4, "gemm " + m + "x" + n + "x" + kk);
        d.free(da);
        d.free(dbm);
        d.free(dbias);
        d.free(dc);
    }
}
