package dev.longbow.cuda.gpu;

import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.AddKernel;
import dev.longbow.cuda.kernels.ArgmaxKernel;
import dev.longbow.cuda.kernels.ConvertKernel;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.EmbedKernel;
import dev.longbow.cuda.kernels.RmsNormKernel;
import dev.longbow.cuda.kernels.SwiGluKernel;
import dev.longbow.cuda.reference.ArgmaxReference;
import dev.longbow.cuda.reference.EmbedReference;
import dev.longbow.cuda.reference.F16;
import dev.longbow.cuda.reference.RmsNormReference;
import dev.longbow.cuda.reference.SwiGluReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Embedding gather, fused RMSNorm, SwiGLU, add, F16 conversion and argmax on the GPU against their references, on
 * random data in the shapes of stories260K (dim 64, hidden 172), Llama-3.2-1B (2048, 8192) and Llama-3-8B
 * (4096, 14336). Tolerances: exact for gather, conversion and argmax; 2e-6 of the largest value for the elementwise
 * float kernels (F32 arithmetic against double).
 */
class ElementwiseKernelsTest {
    @ParameterizedTest
    @CsvSource({"512,64,7", "32000,2048,33", "128256,4096,5"})
    void embedGatherIsExact(int vocab, int dim, int n) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(vocab + dim);
        short[] table = F16.of(Gpu.random(r, vocab * dim, 1));
        int[] tokens = r.ints(n, 0, vocab).toArray();
        long t = DeviceArrays.upload(d, table), tk = DeviceArrays.upload(d, tokens), out = DeviceArrays.zeros(d, 4L * n * dim);
        EmbedKernel.launch(k, 0, t, tk, out, n, dim, vocab);
        assertArrayEquals(EmbedReference.apply(table, dim, tokens), DeviceArrays.floats(d, out, n * dim));
        d.free(t);
        d.free(tk);
        d.free(out);
    }

    @ParameterizedTest
    @CsvSource({"64,1,true", "64,9,false", "2048,4,true", "4096,17,true", "5120,1,false"})
    void rmsnormWithAndWithoutTheResidual(int cols, int rows, boolean residual) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(cols * 31 + rows);
        float[] x = Gpu.random(r, rows * cols, 3), res = residual ? Gpu.random(r, rows * cols, 1) : null, w = Gpu.random(r, cols, 1);
        long dx = DeviceArrays.upload(d, x), dr = residual ? DeviceArrays.upload(d, res) : 0, dw = DeviceArrays.upload(d, w);
        long out = DeviceArrays.zeros(d, 4L * rows * cols), outHalf = DeviceArrays.zeros(d, 2L * rows * cols);
        RmsNormKernel.launch(k, 0, dx, dr, dw, out, outHalf, rows, cols, 1e-5f);
        float[] expected = RmsNormReference.apply(x, res, w, rows, cols, 1e-5f);
        Gpu.assertClose(expected, DeviceArrays.floats(d, out, rows * cols), 2e-6, "rmsnorm out");
        Gpu.assertClose(x, DeviceArrays.floats(d, dx, rows * cols), 1e-7, "residual stream after the add");
        d.free(dx);
        if (residual) d.free(dr);
        d.free(dw);
        d.free(out);
        d.free(outHalf);
    }

    @ParameterizedTest
    @CsvSource({"172", "8192", "14336000"})
    void swigluAddAndConvert(int count) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(count);
        float[] g = Gpu.random(r, count, 4), u = Gpu.random(r, count, 1);
        long dg = DeviceArrays.upload(d, g), du = DeviceArrays.upload(d, u);
        SwiGluKernel.launch(k, 0, dg, du, count);
        float[] expected = g.clone();
        SwiGluReference.apply(expected, u);
        Gpu.assertClose(expected, DeviceArrays.floats(d, dg, count), 2e-6, "swiglu");

        AddKernel.launch(k, 0, dg, du, count);
        for (int i = 0; i < count; i++) expected[i] += u[i];
        Gpu.assertClose(expected, DeviceArrays.floats(d, dg, count), 1e-7, "add");

        long half = DeviceArrays.zeros(d, 2L * count);
        ConvertKernel.launch(k, 0, du, half, count);
        float[] widened = new float[count];
        // Back to F32 on the device through the embed kernel (a one-row table): the bits must be round-to-nearest-even.
        long token = DeviceArrays.upload(d, new int[]{0}), back = DeviceArrays.zeros(d, 4L * count);
        EmbedKernel.launch(k, 0, half, token, back, 1, count, 1);
        for (int i = 0; i < count; i++) widened[i] = F16.round(u[i]);
        assertArrayEquals(widened, DeviceArrays.floats(d, back, count));
        d.free(dg);
        d.free(du);
        d.free(half);
        d.free(token);
        d.free(back);
    }

    @ParameterizedTest
    @CsvSource({"512,1", "32000,3", "128256,2"})
    void argmaxPicksTheLowestIndexOfTheLargest(int vocab, int rows) {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(vocab);
        float[] logits = Gpu.random(r, vocab * rows, 5);
        // A tie in the last row: the lower index must win.
        logits[(rows - 1) * vocab + vocab - 1] = logits[(rows - 1) * vocab + 3] = 1e6f;
        long dl = DeviceArrays.upload(d, logits), out = DeviceArrays.zeros(d, 4L * rows);
        ArgmaxKernel.launch(k, 0, dl, out, rows, vocab);
        int[] got = DeviceArrays.ints(d, out, rows);
        for (int i = 0; i < rows; i++) assertEquals(ArgmaxReference.apply(logits, i * vocab, vocab), got[i], "row " + i);
        assertEquals(3, got[rows - 1]);
        d.free(dl);
        d.free(out);
    }
}
