package dev.longbow.cuda.gpu;

import dev.longbow.backend.Rope;
import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.CudaKernels;
import dev.longbow.cuda.kernels.RopeKernel;
import dev.longbow.cuda.reference.RopeReference;
import dev.longbow.model.RopeScaling;
import dev.longbow.model.RotaryLayout;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

/**
 * RoPE on the GPU against the reference for every scaling method's table (the kernel only sees inv_freq and the
 * attention factor), both layouts, head dims 64 and 128, and positions on both sides of the float/double angle
 * threshold (2^16) up to 10^6. Tolerance 2e-6 of the largest value: both sides take sin and cos in double of the same
 * float-or-double angle, then round to float.
 */
class RopeKernelTest {
    @Test
    void everyScalingMethodBothLayouts() {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        Random r = new Random(7);
        for (int headDim : new int[]{64, 128}) {
            for (Map.Entry<String, RopeScaling> e : RopeMethods.all(headDim).entrySet()) {
                RopeScaling.Table table = e.getValue().table(headDim, 500000f, 16384);
                for (RotaryLayout layout : RotaryLayout.values()) {
                    Rope rope = new Rope(table.inverseFrequencies(), headDim, layout, table.attentionFactor());
                    for (int start : new int[]{0, 65530, 999_000}) {
                        int rows = 13, heads = 8, stride = heads * headDim + 32; // a row wider than its heads (q and k side by side)
                        float[] x = Gpu.random(r, rows * stride, 1);
                        long dx = DeviceArrays.upload(d, x), inv = DeviceArrays.upload(d, table.inverseFrequencies());
                        RopeKernel.launch(k, 0, dx, inv, rows, heads, headDim, stride, start, layout == RotaryLayout.INTERLEAVED, table.attentionFactor());
                        RopeReference.apply(x, rows, heads, stride, rope, start);
                        Gpu.assertClose(x, DeviceArrays.floats(d, dx, rows * stride), 2e-6,
                                e.getKey() + " " + layout + " hd" + headDim + " from " + start);
                        d.free(dx);
                        d.free(inv);
                    }
                }
            }
        }
    }
}
