package dev.longbow.cuda.ffm;

import dev.longbow.LongbowException;
import dev.longbow.cuda.DeviceInfo;
import dev.longbow.cuda.FunctionInfo;
import dev.longbow.cuda.GpuDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import static dev.longbow.cuda.CudaConstants.*;

/**
 * {@link GpuDriver} over libcuda.so.1 through Panama FFM: no JNI, no native code of Longbow's own. Works in the
 * device's primary context (the one the CUDA runtime, and so cuBLAS and PyTorch, share), made current on each thread
 * that calls in. Out-parameters go through one small scratch segment, so calls that use it are synchronized.
 */
public final class FfmCudaDriver implements GpuDriver {

    private final CudaLibrary lib;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scratch = arena.allocate(64, 16);
    /** cuLaunchKernel's kernelParams: one pointer, to the parameter struct. */
    private final MemorySegment paramArray = arena.allocate(ADDRESS);
    private final MemorySegment context;
    private final int device;
    private final DeviceInfo info;
    private final int driverVersion;
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
    private final MethodHandle launch, memcpyHtoD, memcpyDtoH, ctxSetCurrent;

    /** Initializes the driver and opens GPU {@code ordinal}; throws a one-line LongbowException when it cannot. */
    public FfmCudaDriver(CudaLibrary lib, int ordinal) {
        this.lib = lib;
        launch = lib.handle(CudaSymbol.cuLaunchKernel);
        memcpyHtoD = lib.handle(CudaSymbol.cuMemcpyHtoDAsync_v2);
        memcpyDtoH = lib.handle(CudaSymbol.cuMemcpyDtoHAsync_v2);
        ctxSetCurrent = lib.handle(CudaSymbol.cuCtxSetCurrent);
        try {
            lib.check((int) lib.handle(CudaSymbol.cuInit).invokeExact(0), "cuInit");
            lib.check((int) lib.handle(CudaSymbol.cuDriverGetVersion).invokeExact(scratch), "cuDriverGetVersion");
            driverVersion = scratch.get(JAVA_INT, 0);
            lib.check((int) lib.handle(CudaSymbol.cuDeviceGetCount).invokeExact(scratch), "cuDeviceGetCount");
            int count = scratch.get(JAVA_INT, 0);
            if (count == 0) throw new LongbowException("CUDA: the driver sees no GPU");
            if (ordinal < 0 || ordinal >= count) throw new LongbowException("CUDA: no GPU " + ordinal + " (the driver sees " + count + ")");
            lib.check((int) lib.handle(CudaSymbol.cuDeviceGet).invokeExact(scratch, ordinal), "cuDeviceGet");
            device = scratch.get(JAVA_INT, 0);
            lib.check((int) lib.handle(CudaSymbol.cuDevicePrimaryCtxRetain).invokeExact(scratch, device), "cuDevicePrimaryCtxRetain");
            context = scratch.get(ADDRESS, 0);
            makeCurrent();
            info = readInfo(ordinal);
        } catch (LongbowException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new LongbowException("CUDA initialization failed: " + t);
        }
    }

    private DeviceInfo readInfo(int ordinal) throws Throwable {
        MemorySegment name = arena.allocate(256);
        lib.check((int) lib.handle(CudaSymbol.cuDeviceGetName).invokeExact(name, 256, device), "cuDeviceGetName");
        lib.check((int) lib.handle(CudaSymbol.cuDeviceTotalMem_v2).invokeExact(scratch, device), "cuDeviceTotalMem");
        long total = scratch.get(JAVA_LONG, 0);
        return new DeviceInfo(ordinal, name.getString(0), attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                total, attribute(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE), attribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH));
    }

    private int attribute(int attr) throws Throwable {
        lib.check((int) lib.handle(CudaSymbol.cuDeviceGetAttribute).invokeExact(scratch, attr, device), "cuDeviceGetAttribute(" + attr + ")");
        return scratch.get(JAVA_INT, 0);
    }

    /** Contexts are current per thread: each thread that calls in gets the primary context once. */
    private void makeCurrent() {
        if (current.get()) return;
        try {
            lib.check((int) ctxSetCurrent.invokeExact(context), "cuCtxSetCurrent");
        } catch (LongbowException e) {
            throw e;
        } catch (Throwable t) {
            throw new LongbowException("CUDA cuCtxSetCurrent failed: " + t);
        }
        current.set(true);
    }

    private static MemorySegment ptr(long address) {
        return MemorySegment.ofAddress(address);
    }

    private static LongbowException wrap(String call, Throwable t) {
        return t instanceof LongbowException e ? e : new LongbowException("CUDA " + call + " failed: " + t);
    }

    @Override
    public String description() {
        return "ffm (" + lib.origin() + ", driver API " + driverVersion / 1000 + "." + driverVersion % 1000 / 10 + ")";
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    @Override
    public synchronized long loadModule(byte[] image) {
        makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            // cuModuleLoadData reads the fatbin from host memory; it must stay valid only for the call.
            MemorySegment img = a.allocate(image.length + 1L, 16);
            MemorySegment.copy(image, 0, img, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, image.length);
            lib.check((int) lib.handle(CudaSymbol.cuModuleLoadData).invokeExact(scratch, img), "cuModuleLoadData");
            return scratch.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw wrap("cuModuleLoadData", t);
        }
    }

    @Override
    public synchronized long function(long module, String name) {
        makeCurrent();
        try (Arena a = Arena.ofConfined()) {
            lib.check((int) lib.handle(CudaSymbol.cuModuleGetFunction).invokeExact(scratch, ptr(module), a.allocateFrom(name)),
                    "cuModuleGetFunction(" + name + ")");
            return scratch.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw wrap("cuModuleGetFunction(" + name + ")", t);
        }
    }

    @Override
    public synchronized FunctionInfo functionInfo(long function, String name) {
        makeCurrent();
        return new FunctionInfo(name, funcAttribute(function, CU_FUNC_ATTRIBUTE_NUM_REGS),
                funcAttribute(function, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES), funcAttribute(function, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES),
                funcAttribute(function, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK));
    }

    private int funcAttribute(long function, int attr) {
        try {
            lib.check((int) lib.handle(CudaSymbol.cuFuncGetAttribute).invokeExact(scratch, attr, ptr(function)), "cuFuncGetAttribute");
            return scratch.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw wrap("cuFuncGetAttribute", t);
        }
    }

    @Override
    public synchronized void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                                    int sharedBytes, long stream, MemorySegment params) {
        makeCurrent();
        // The driver copies the parameter block during the call, so one array and the caller's buffer are reused.
        paramArray.set(ADDRESS, 0, params);
        int r;
        try {
            r = (int) launch.invokeExact(ptr(function), gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes, ptr(stream),
                    paramArray, MemorySegment.NULL);
        } catch (Throwable t) {
            throw wrap("cuLaunchKernel", t);
        }
        if (r != 0) lib.check(r, "cuLaunchKernel");
    }

    @Override
    public synchronized long malloc(long bytes) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemAlloc_v2).invokeExact(scratch, bytes), "cuMemAlloc(" + bytes + " bytes)");
            return scratch.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw wrap("cuMemAlloc", t);
        }
    }

    @Override
    public void free(long pointer) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemFree_v2).invokeExact(pointer), "cuMemFree");
        } catch (Throwable t) {
            throw wrap("cuMemFree", t);
        }
    }

    @Override
    public synchronized MemorySegment mallocHost(long bytes) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemAllocHost_v2).invokeExact(scratch, bytes), "cuMemAllocHost(" + bytes + " bytes)");
            return scratch.get(ADDRESS, 0).reinterpret(bytes);
        } catch (Throwable t) {
            throw wrap("cuMemAllocHost", t);
        }
    }

    @Override
    public void freeHost(MemorySegment host) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemFreeHost).invokeExact(host), "cuMemFreeHost");
        } catch (Throwable t) {
            throw wrap("cuMemFreeHost", t);
        }
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes, long stream) {
        makeCurrent();
        int r;
        try {
            r = (int) memcpyHtoD.invokeExact(dst, src, bytes, ptr(stream));
        } catch (Throwable t) {
            throw wrap("cuMemcpyHtoDAsync", t);
        }
        if (r != 0) lib.check(r, "cuMemcpyHtoDAsync");
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes, long stream) {
        makeCurrent();
        int r;
        try {
            r = (int) memcpyDtoH.invokeExact(dst, src, bytes, ptr(stream));
        } catch (Throwable t) {
            throw wrap("cuMemcpyDtoHAsync", t);
        }
        if (r != 0) lib.check(r, "cuMemcpyDtoHAsync");
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes, long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemcpyDtoDAsync_v2).invokeExact(dst, src, bytes, ptr(stream)), "cuMemcpyDtoDAsync");
        } catch (Throwable t) {
            throw wrap("cuMemcpyDtoDAsync", t);
        }
    }

    @Override
    public void memset(long dst, byte value, long bytes, long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemsetD8Async).invokeExact(dst, value, bytes, ptr(stream)), "cuMemsetD8Async");
        } catch (Throwable t) {
            throw wrap("cuMemsetD8Async", t);
        }
    }

    @Override
    public synchronized long[] memoryInfo() {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuMemGetInfo_v2).invokeExact(scratch, scratch.asSlice(8)), "cuMemGetInfo");
            return new long[]{scratch.get(JAVA_LONG, 0), scratch.get(JAVA_LONG, 8)};
        } catch (Throwable t) {
            throw wrap("cuMemGetInfo", t);
        }
    }

    @Override
    public synchronized long createStream() {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuStreamCreate).invokeExact(scratch, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            return scratch.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw wrap("cuStreamCreate", t);
        }
    }

    @Override
    public void synchronize(long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuStreamSynchronize).invokeExact(ptr(stream)), "cuStreamSynchronize");
        } catch (Throwable t) {
            throw wrap("cuStreamSynchronize", t);
        }
    }

    @Override
    public void destroyStream(long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuStreamDestroy_v2).invokeExact(ptr(stream)), "cuStreamDestroy");
        } catch (Throwable t) {
            throw wrap("cuStreamDestroy", t);
        }
    }

    @Override
    public synchronized long createEvent() {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuEventCreate).invokeExact(scratch, 0), "cuEventCreate");
            return scratch.get(ADDRESS, 0).address();
        } catch (Throwable t) {
            throw wrap("cuEventCreate", t);
        }
    }

    @Override
    public void record(long event, long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuEventRecord).invokeExact(ptr(event), ptr(stream)), "cuEventRecord");
        } catch (Throwable t) {
            throw wrap("cuEventRecord", t);
        }
    }

    @Override
    public synchronized float elapsedMillis(long start, long end) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuEventSynchronize).invokeExact(ptr(end)), "cuEventSynchronize");
            lib.check((int) lib.handle(CudaSymbol.cuEventElapsedTime_v2).invokeExact(scratch, ptr(start), ptr(end)), "cuEventElapsedTime");
            return scratch.get(JAVA_FLOAT, 0);
        } catch (Throwable t) {
            throw wrap("cuEventElapsedTime", t);
        }
    }

    @Override
    public void destroyEvent(long event) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuEventDestroy_v2).invokeExact(ptr(event)), "cuEventDestroy");
        } catch (Throwable t) {
            throw wrap("cuEventDestroy", t);
        }
    }

    @Override
    public void beginCapture(long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuStreamBeginCapture_v2).invokeExact(ptr(stream), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                    "cuStreamBeginCapture");
        } catch (Throwable t) {
            throw wrap("cuStreamBeginCapture", t);
        }
    }

    @Override
    public synchronized long endCapture(long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuStreamEndCapture).invokeExact(ptr(stream), scratch), "cuStreamEndCapture");
            MemorySegment graph = scratch.get(ADDRESS, 0);
            try {
                lib.check((int) lib.handle(CudaSymbol.cuGraphInstantiateWithFlags).invokeExact(scratch.asSlice(8), graph, 0L),
                        "cuGraphInstantiateWithFlags");
                return scratch.get(ADDRESS, 8).address();
            } finally {
                // The executable graph is independent of the graph it was made from.
                lib.check((int) lib.handle(CudaSymbol.cuGraphDestroy).invokeExact(graph), "cuGraphDestroy");
            }
        } catch (Throwable t) {
            throw wrap("cuStreamEndCapture", t);
        }
    }

    @Override
    public void launchGraph(long graphExec, long stream) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuGraphLaunch).invokeExact(ptr(graphExec), ptr(stream)), "cuGraphLaunch");
        } catch (Throwable t) {
            throw wrap("cuGraphLaunch", t);
        }
    }

    @Override
    public void destroyGraph(long graphExec) {
        makeCurrent();
        try {
            lib.check((int) lib.handle(CudaSymbol.cuGraphExecDestroy).invokeExact(ptr(graphExec)), "cuGraphExecDestroy");
        } catch (Throwable t) {
            throw wrap("cuGraphExecDestroy", t);
        }
    }

    @Override
    public synchronized void close() {
        try {
            lib.check((int) lib.handle(CudaSymbol.cuCtxSynchronize).invokeExact(), "cuCtxSynchronize");
            lib.check((int) lib.handle(CudaSymbol.cuDevicePrimaryCtxRelease_v2).invokeExact(device), "cuDevicePrimaryCtxRelease");
        } catch (Throwable t) {
            throw wrap("cuDevicePrimaryCtxRelease", t);
        } finally {
            arena.close();
        }
    }
}
