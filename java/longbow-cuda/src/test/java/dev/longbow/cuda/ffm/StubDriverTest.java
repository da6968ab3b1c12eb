package dev.longbow.cuda.ffm;

import dev.longbow.LongbowException;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Binds every symbol against the CUDA toolkit's stub libcuda.so (shipped for linking on machines without a driver;
 * each entry point returns CUDA_ERROR_STUB_LIBRARY): the FFM downcalls are created and called for real, and the
 * failure comes back as one line naming the error. Skips when no stub is installed.
 */
class StubDriverTest {
    static Path findStub() {
        List<Path> candidates = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        for (String root : home != null ? List.of(home, "/usr/local/cuda") : List.of("/usr/local/cuda")) {
            candidates.add(Path.of(root, "lib64", "stubs", "libcuda.so"));
            candidates.add(Path.of(root, "targets", "x86_64-linux", "lib", "stubs", "libcuda.so"));
        }
        candidates.add(Path.of("/usr/lib/x86_64-linux-gnu/stubs/libcuda.so"));
        return candidates.stream().filter(Files::isRegularFile).findFirst().orElse(null);
    }

    @Test
    void everySymbolBindsAndCuInitFailsWithOneClearLine() {
        Path stub = findStub();
        assumeTrue(stub != null, "no stub libcuda.so in CUDA_HOME or /usr/local/cuda (lib64/stubs, targets/x86_64-linux/lib/stubs): "
                + "the toolkit here has no driver stubs");
        CudaLibrary lib = CudaLibrary.at(stub);
        LongbowException e = assertThrows(LongbowException.class, () -> new FfmCudaDriver(lib, 0));
        assertTrue(e.getMessage().startsWith("CUDA cuInit failed: CUDA_ERROR_STUB_LIBRARY (34)"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    @Test
    void withoutADriverTheReasonIsOneLine() {
        LongbowException e;
        try {
            CudaLibrary.system();
            assumeTrue(false, "this machine has an NVIDIA driver (libcuda.so.1 loads): nothing to check here");
            return;
        } catch (LongbowException x) {
            e = x;
        }
        assertEquals("no NVIDIA driver: libcuda.so.1 cannot be loaded (no GPU driver installed on this machine)", e.getMessage());
    }
}
