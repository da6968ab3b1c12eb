package dev.longbow.cuda.gpu;

import dev.longbow.LongbowException;
import dev.longbow.cuda.DeviceArrays;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.kernels.AddKernel;
import dev.longbow.cuda.kernels.CudaKernels;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The driver binding on a real GPU: device query, pinned memory round trips on a stream, events, CUDA Graph capture
 * and replay, the resource use the driver reports for every kernel, and an error turned into one line.
 */
class DriverTest {
    @Test
    void deviceStreamsPinnedMemoryEventsAndGraphs() {
        GpuDriver d = Gpu.driver();
        CudaKernels k = Gpu.kernels();
        assertTrue(d.device().major() >= 8, d.device().toString());
        long[] mem = d.memoryInfo();
        assertTrue(mem[0] > 0 && mem[0] <= mem[1], mem[0] + " free of " + mem[1]);

        int n = 1 << 20;
        long stream = d.createStream(), start = d.createEvent(), end = d.createEvent();
        MemorySegment host = d.mallocHost(4L * n);
        float[] x = new float[n], y = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i;
            y[i] = 0.5f * i;
        }
        long dx = DeviceArrays.upload(d, x), dy = DeviceArrays.upload(d, y);

        // Capture x += y twice into a graph; nothing runs until it is launched.
        d.beginCapture(stream);
        AddKernel.launch(k, stream, dx, dy, n);
        AddKernel.launch(k, stream, dx, dy, n);
        long graph = d.endCapture(stream);
        d.record(start, stream);
        d.launchGraph(graph, stream);
        d.launchGraph(graph, stream);
        d.record(end, stream);
        d.copyToHost(host, dx, 4L * n, stream);
        d.synchronize(stream);
        float ms = d.elapsedMillis(start, end);
        assertTrue(ms > 0 && ms < 1000, ms + " ms");
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) expected[i] = x[i] + 4 * y[i];
        assertArrayEquals(expected, host.toArray(JAVA_FLOAT));

        d.destroyGraph(graph);
        d.destroyEvent(start);
        d.destroyEvent(end);
        d.destroyStream(stream);
        d.freeHost(host);
        d.free(dx);
        d.free(dy);
    }

    @Test
    void everyKernelLoadsAndReportsItsResources() {
        var usage = Gpu.kernels().resourceUsage();
        assertEquals(CudaKernels.NAMES.size(), usage.size());
        for (var f : usage) {
            assertTrue(f.registers() > 0 && f.maxThreadsPerBlock() >= 128, f.toString());
            System.err.println("longbow: " + f);
        }
    }

    @Test
    void aDeviceErrorIsOneLine() {
        GpuDriver d = Gpu.driver();
        LongbowException e = assertThrows(LongbowException.class, () -> d.malloc(1L << 60));
        assertTrue(e.getMessage().startsWith("CUDA cuMemAlloc"), e.getMessage());
        assertTrue(e.getMessage().contains("CUDA_ERROR_OUT_OF_MEMORY"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
