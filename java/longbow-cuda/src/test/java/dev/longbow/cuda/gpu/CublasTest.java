package dev.longbow.cuda.gpu;

import dev.longbow.LongbowException;
import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.ffm.Cublas;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.GemmKernel;
import dev.longbow.cuda.reference.F16;
import dev.longbow.cuda.reference.MatmulReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * cuBLAS through FFM against the reference and against the GEMM kernel on the same inputs (the peer the kernel is
 * benchmarked against must compute the same thing). Skips without a GPU or without a cuBLAS library.
 */
class CublasTest {
    @ParameterizedTest
    @CsvSource({"100,172,64", "512,4096,4096", "128,4096,14336"})
    void cublasMatchesTheReferenceAndTheKernel(int m, int n, int kk) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Cublas blas;
        try {
            blas = Cublas.open();
        } catch (LongbowException e) {
            assumeTrue(false, e.getMessage());
            return;
        }
        try (blas) {
            Random r = new Random(m + n + kk);
            short[] a = F16.of(Gpu.random(r, m * kk, 1)), b = F16.of(Gpu.random(r, n * kk, 0.05f));
            long da = DeviceArrays.upload(d, a), db = DeviceArrays.upload(d, b);
            long c1 = DeviceArrays.zeros(d, 4L * m * n), c2 = DeviceArrays.zeros(d, 4L * m * n);
            blas.gemm(0, da, db, c1, m, n, kk, n);
            GemmKernel.launch(k, 0, da, db, c2, 0, m, n, kk, n);
            float[] viaCublas = DeviceArrays.floats(d, c1, m * n);
            Gpu.assertClose(MatmulReference.gemm(a, b, null, m, n, kk), viaCublas, 5e-4, "cublas vs reference");
            Gpu.assertClose(viaCublas, DeviceArrays.floats(d, c2, m * n), 5e-4, "kernel vs cublas");
            d.free(da);
            d.free(db);
            d.free(c1);
            d.free(c2);
        }
    }
}
