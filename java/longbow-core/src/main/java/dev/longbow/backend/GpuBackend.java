package dev.longbow.backend;

import java.util.Optional;
import java.util.ServiceLoader;

/**
 * A GPU backend on the class path (the longbow-cuda jar provides one through ServiceLoader), so the core can offer
 * {@code --backend cuda|auto} without depending on it. Without the jar, {@link #find()} is empty.
 */
public interface GpuBackend {
    /** The backend's name as --backend takes it ("cuda"). */
    String name();

    /** Whether the machine has the vendor's driver library at all (auto stays silent on machines without one). */
    boolean driverPresent();

    /** Null when {@link #open} can succeed here with this binding, else the one-line reason it cannot. */
    String unavailableReason(String binding);

    /** Opens the GPU; {@code weightBytesHint} sizes the device weight arena (0: grow as weights arrive). */
    Ops open(String binding, long weightBytesHint);

    static Optional<GpuBackend> find() {
        return ServiceLoader.load(GpuBackend.class).findFirst();
    }
}
