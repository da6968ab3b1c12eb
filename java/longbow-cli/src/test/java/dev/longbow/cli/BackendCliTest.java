package dev.longbow.cli;

import dev.longbow.api.Backends;
import dev.longbow.backend.GpuBackend;
import org.junit.jupiter.api.Test;

import static dev.longbow.cli.CliTest.assertOneLineError;
import static dev.longbow.cli.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** --backend on the model-running commands: a bad value or an unusable GPU is one line; cpu and auto run. */
class BackendCliTest {
    @Test
    void badBackendIsOneLine() {
        assertOneLineError(run("generate", "--model", CliTest.model().toString(), "--backend", "tpu", "--max-tokens", "2"),
                "--backend must be auto, cpu or cuda, got 'tpu'");
        assertOneLineError(run("generate", "--model", CliTest.model().toString(), "--backend", "cuda", "--gpu-binding", "opencl",
                "--max-tokens", "2"), "unknown GPU binding 'opencl'");
    }

    @Test
    void cudaWithoutAGpuIsOneLineNamingTheReason() {
        assumeTrue(GpuBackend.find().isPresent(), "the CLI's class path has no CUDA module");
        String reason = GpuBackend.find().get().unavailableReason(null);
        assumeTrue(reason != null, "this machine can run the CUDA backend");
        assertOneLineError(run("generate", "--model", CliTest.model().toString(), "--backend", "cuda", "--max-tokens", "2"),
                "--backend cuda: " + reason);
    }

    @Test
    void benchKernelsWithoutAGpuIsOneLine() {
        assumeTrue(GpuBackend.find().isPresent() && !GpuBackend.find().get().driverPresent(), "this machine has an NVIDIA driver");
        assertOneLineError(run("bench-kernels", "--quick"), "no NVIDIA driver");
    }

    @Test
    void cpuAndAutoRun() {
        CliTest.Run cpu = run("generate", "--model", CliTest.model().toString(), "--backend", "cpu", "--max-tokens", "4", "--json");
        assertEquals(0, cpu.code(), cpu.err());
        assertTrue(cpu.out().contains("\"backend\""), cpu.out());
        assumeTrue(Backends.resolve("auto", null).backend().equals(Backends.CPU), "auto picks CUDA here");
        CliTest.Run auto = run("generate", "--model", CliTest.model().toString(), "--backend", "auto", "--max-tokens", "4", "--json");
        assertEquals(0, auto.code(), auto.err());
        assertTrue(auto.out().contains("\"backend\":\"cpu"), auto.out());
    }
}
