package dev.longbow.cuda.gpu;

import dev.longbow.LongbowException;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.GpuDrivers;
import dev.longbow.cuda.kernels.CudaKernels;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU the kernel equivalence tests run on, opened once per JVM (binding from -Dlongbow.gpu.binding, default
 * ffm); without one every such test is skipped with the one-line reason (no driver, no GPU, no kernels in the build).
 */
final class Gpu {
    private static CudaKernels kernels;
    private static String reason;

    private Gpu() {}

    static synchronized CudaKernels kernels() {
        if (kernels == null && reason == null) {
            if (!CudaKernels.present()) {
                reason = "this build has no CUDA kernels (nvcc was not found when it was built)";
            } else {
                try {
                    kernels = new CudaKernels(GpuDrivers.open(System.getProperty("longbow.gpu.binding"), 0));
                    System.err.println("longbow: GPU tests on " + kernels.driver().device() + " via " + kernels.driver().description());
                } catch (LongbowException e) {
                    reason = e.getMessage();
                }
            }
        }
        assumeTrue(kernels != null, () -> "no GPU to run on: " + reason);
        return kernels;
    }

    static GpuDriver driver() {
        return kernels().driver();
    }

    static float[] random(Random r, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    /** max |expected - actual| <= tolerance * max(1e-30, max |expected|), and no NaN: a relative error over the tensor. */
    static void assertClose(float[] expected, float[] actual, double tolerance, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 1e-30, err = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            assertTrue(!Float.isNaN(actual[i]), what + ": NaN at " + i);
            max = Math.max(max, Math.abs(expected[i]));
            double e = Math.abs(expected[i] - actual[i]);
            if (e > err) {
                err = e;
                worst = i;
            }
        }
        double rel = err / max;
        assertTrue(rel <= tolerance, what + ": error " + rel + " of the largest value (" + max + ") at " + worst + ": expected "
                + expected[worst] + ", got " + actual[worst] + " (tolerance " + tolerance + ")");
    }
}
