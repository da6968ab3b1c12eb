package dev.longbow.cuda.jcuda;

import dev.longbow.LongbowException;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.GpuDrivers;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What the JCuda binding can show without a GPU: that JCuda's objects give up their addresses to this JCuda version
 * (the binding's whole bookkeeping rests on it), and that opening it where it cannot run is one line. The kernel
 * tests in dev.longbow.cuda.gpu run on it with -Dlongbow.gpu.binding=jcuda (bin/gpu-test runs them on both bindings).
 */
class JCudaBindingTest {
    @Test
    void jcudaObjectsGiveUpTheirAddresses() {
        assertEquals(0L, JCudaGpuDriver.address(new CUstream()), "a new CUstream is the null stream");
        assertEquals(0L, JCudaGpuDriver.address(new CUdeviceptr()), "a new CUdeviceptr is null");
    }

    @Test
    void withoutADriverOpeningIsOneLine() {
        String reason = GpuDrivers.unavailableReason(GpuDrivers.JCUDA);
        assumeTrue(reason != null, "a GPU is here: the binding opened");
        assertFalse(reason.contains("\n"), reason);
        assertTrue(reason.startsWith("the JCuda binding cannot load") || reason.startsWith("CUDA "), reason);
        LongbowException e = assertThrows(LongbowException.class, () -> {
            try (GpuDriver d = GpuDrivers.open(GpuDrivers.JCUDA, 0)) {
                d.device();
            }
        });
        assertEquals(reason, e.getMessage());
        System.out.println("jcuda here: " + reason);
    }

    @Test
    void unknownBindingNamesBoth() {
        LongbowException e = assertThrows(LongbowException.class, () -> GpuDrivers.open("opencl", 0));
        assertTrue(e.getMessage().contains("ffm") && e.getMessage().contains("jcuda"), e.getMessage());
    }
}
