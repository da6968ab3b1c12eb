package dev.longbow.cuda.ops;

import dev.longbow.LongbowException;
import dev.longbow.backend.GpuBackend;
import dev.longbow.backend.Ops;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.GpuDrivers;
import dev.longbow.cuda.ffm.CudaLibrary;
import dev.longbow.cuda.kernels.CudaKernels;

/** The CUDA backend as the core finds it (META-INF/services): availability with its reason, and CudaOps. */
public final class CudaBackend implements GpuBackend {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public boolean driverPresent() {
        try {
            CudaLibrary.system();
            return true;
        } catch (LongbowException e) {
            return false;
        }
    }

    @Override
    public String unavailableReason(String binding) {
        if (!CudaKernels.present()) return "this build has no CUDA kernels (nvcc was not found when it was built)";
        try (GpuDriver d = GpuDrivers.open(binding, 0)) {
            if (d.device().major() < 8) {
                return d.device().name() + " is sm_" + d.device().major() + d.device().minor() + "; the kernels need sm_80 or newer (Ampere)";
            }
            new CudaKernels(d).close();
            return null;
        } catch (LongbowException e) {
            return e.getMessage();
        }
    }

    @Override
    public Ops open(String binding, long weightBytesHint) {
        return new CudaOps(GpuDrivers.open(binding, 0), binding == null ? GpuDrivers.FFM : binding, weightBytesHint);
    }
}
