package dev.longbow.api;

import dev.longbow.LongbowException;
import dev.longbow.backend.GpuBackend;

import java.util.Optional;

/**
 * Resolves --backend auto|cpu|cuda to the backend that will run, and the line to tell the user about it: CUDA when a
 * driver, a GPU and the kernels are there; else the CPU, saying why when a driver was found (a machine without any
 * GPU driver gets the CPU silently: the run's summary line names the backend).
 */
public final class Backends {
    public static final String AUTO = "auto", CPU = "cpu", CUDA = "cuda";

    /** {@code note} is null when there is nothing to say. */
    public record Choice(String backend, String note) {}

    private Backends() {}

    public static Choice resolve(String requested, String binding) {
        String r = requested == null ? AUTO : requested;
        if (r.equals(CPU)) return new Choice(CPU, null);
        if (!r.equals(AUTO) && !r.equals(CUDA)) throw new LongbowException("--backend must be auto, cpu or cuda, got '" + r + "'");
        Optional<GpuBackend> gpu = GpuBackend.find();
        if (gpu.isEmpty()) {
            if (r.equals(CUDA)) throw new LongbowException("--backend cuda: this Longbow has no CUDA module (longbow-cuda jar) on its class path");
            return new Choice(CPU, null);
        }
        String reason = gpu.get().unavailableReason(binding);
        if (reason == null) return new Choice(CUDA, null);
        if (r.equals(CUDA)) throw new LongbowException("--backend cuda: " + reason);
        return new Choice(CPU, gpu.get().driverPresent() ? "longbow: backend cpu (auto: " + reason + ")" : null);
    }
}
