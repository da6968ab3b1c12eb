package dev.longbow.cuda;

import dev.longbow.LongbowException;
import dev.longbow.cuda.ffm.CudaLibrary;
import dev.longbow.cuda.ffm.FfmCudaDriver;

/** Opens a {@link GpuDriver} by binding name; every way it can fail is a one-line LongbowException saying why. */
public final class GpuDrivers {
    public static final String FFM = "ffm";

    private GpuDrivers() {}

    public static GpuDriver open(String binding, int ordinal) {
        String b = binding == null ? FFM : binding;
        if (!b.equals(FFM)) {
            throw new LongbowException("unknown GPU binding '" + b + "': this build has ffm (Panama FFM over libcuda); the JCuda binding is not written yet (docs/GPU.md)");
        }
        return new FfmCudaDriver(CudaLibrary.system(), ordinal);
    }

    /** Null when a driver and GPU can be opened (and closes it again), else the one-line reason. */
    public static String unavailableReason(String binding) {
        try (GpuDriver d = open(binding, 0)) {
            return null;
        } catch (LongbowException e) {
            return e.getMessage();
        }
    }
}
