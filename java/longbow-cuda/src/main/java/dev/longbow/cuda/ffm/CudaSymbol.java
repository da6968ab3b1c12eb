package dev.longbow.cuda.ffm;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Every CUDA driver entry point Longbow calls: the symbol libcuda exports (the versioned name cuda.h's #defines map the
 * plain name to, e.g. cuMemAlloc_v2) and its C signature as FFM sees it. One table, so the binding and the test that
 * checks it against cuda.h cannot drift apart. All return CUresult (int).
 */
public enum CudaSymbol {
    cuInit(JAVA_INT),
    cuDriverGetVersion(ADDRESS),
    cuGetErrorName(JAVA_INT, ADDRESS),
    cuDeviceGetCount(ADDRESS),
    cuDeviceGet(ADDRESS, JAVA_INT),
    cuDeviceGetName(ADDRESS, JAVA_INT, JAVA_INT),
    cuDeviceGetAttribute(ADDRESS, JAVA_INT, JAVA_INT),
    cuDeviceTotalMem_v2(ADDRESS, JAVA_INT),
    cuDevicePrimaryCtxRetain(ADDRESS, JAVA_INT),
    cuDevicePrimaryCtxRelease_v2(JAVA_INT),
    cuCtxSetCurrent(ADDRESS),
    cuCtxSynchronize(),
    cuMemGetInfo_v2(ADDRESS, ADDRESS),
    cuMemAlloc_v2(ADDRESS, JAVA_LONG),
    cuMemFree_v2(JAVA_LONG),
    cuMemAllocHost_v2(ADDRESS, JAVA_LONG),
    cuMemFreeHost(ADDRESS),
    cuMemcpyHtoDAsync_v2(JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS),
    cuMemcpyDtoHAsync_v2(ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS),
    cuMemcpyDtoDAsync_v2(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS),
    cuMemsetD8Async(JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS),
    cuModuleLoadData(ADDRESS, ADDRESS),
    cuModuleUnload(ADDRESS),
    cuModuleGetFunction(ADDRESS, ADDRESS, ADDRESS),
    cuFuncGetAttribute(ADDRESS, JAVA_INT, ADDRESS),
    cuFuncSetAttribute(ADDRESS, JAVA_INT, JAVA_INT),
    cuLaunchKernel(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS),
    cuStreamCreate(ADDRESS, JAVA_INT),
    cuStreamSynchronize(ADDRESS),
    cuStreamDestroy_v2(ADDRESS),
    cuEventCreate(ADDRESS, JAVA_INT),
    cuEventRecord(ADDRESS, ADDRESS),
    cuEventSynchronize(ADDRESS),
    cuEventElapsedTime_v2(ADDRESS, ADDRESS, ADDRESS),
    cuEventDestroy_v2(ADDRESS),
    cuStreamBeginCapture_v2(ADDRESS, JAVA_INT),
    cuStreamEndCapture(ADDRESS, ADDRESS),
    cuGraphInstantiateWithFlags(ADDRESS, ADDRESS, JAVA_LONG),
    cuGraphLaunch(ADDRESS, ADDRESS),
    cuGraphExecDestroy(ADDRESS),
    cuGraphDestroy(ADDRESS);

    private final List<ValueLayout> parameters;

    CudaSymbol(ValueLayout... parameters) {
        this.parameters = List.of(parameters);
    }

    public List<ValueLayout> parameters() {
        return parameters;
    }

    public FunctionDescriptor descriptor() {
        return FunctionDescriptor.of(JAVA_INT, parameters.toArray(MemoryLayout[]::new));
    }

    /** The older name to try when a driver predates this one (cuEventElapsedTime_v2 arrived with 12.8). */
    public String fallback() {
        return this == cuEventElapsedTime_v2 ? "cuEventElapsedTime" : null;
    }
}
