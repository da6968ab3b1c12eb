package dev.longbow.cuda.jcuda;

import dev.longbow.LongbowException;
import dev.longbow.cuda.DeviceInfo;
import dev.longbow.cuda.FunctionInfo;
import dev.longbow.cuda.GpuDriver;
import dev.longbow.cuda.ffm.CudaErrors;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import static dev.longbow.cuda.CudaConstants.*;

/**
 * {@link GpuDriver} through JCuda's driver API (org.jcuda:jcuda, JNI): the same kernels, launches and tests as the
 * FFM binding, {@code --gpu-binding jcuda}. Like it, it works in the device's primary context, made current on each
 * thread that calls in, and turns every failed call into a one-line LongbowException naming the call and the error.
 * <p>
 * The interface passes handles and device pointers as the driver's addresses (so cuBLAS through FFM, or PyTorch, can
 * take a stream from either binding), while JCuda wants its own objects and cannot make one from an address. So this
 * binding reads each object's address once it exists (JCuda keeps it in a private field), remembers the object by
 * that address, and hands the object back when the address comes in. A device address inside an allocation becomes
 * the allocation's CUdeviceptr moved by {@code withByteOffset}; host memory goes in as a direct ByteBuffer over the
 * segment.
 */
public final class JCudaGpuDriver implements GpuDriver {

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final DeviceInfo info;
    private final int driverVersion;
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> false);
    /** Device allocations by base address: an address inside one is the allocation moved by an offset. */
    private final TreeMap<Long, CUdeviceptr> allocations = new TreeMap<>();
    private final Map<Long, Pointer> pinned = new ConcurrentHashMap<>();
    private final Map<Long, NativePointerObject> handles = new ConcurrentHashMap<>();
    /** The last parameter block launched with, and the kernelParams array pointing at it (CudaKernels reuses one block). */
    private MemorySegment lastParams;
    private Pointer lastKernelParams;

    /** Loads JCuda, initializes the driver and opens GPU {@code ordinal}; throws a one-line LongbowException when it cannot. */
    public JCudaGpuDriver(int ordinal) {
        JCudaDriver.setExceptionsEnabled(false); // results are checked here, into Longbow's one-line errors
        check(JCudaDriver.cuInit(0), "cuInit");
        int[] out = new int[1];
        check(JCudaDriver.cuDriverGetVersion(out), "cuDriverGetVersion");
        driverVersion = out[0];
        check(JCudaDriver.cuDeviceGetCount(out), "cuDeviceGetCount");
        if (out[0] == 0) throw new LongbowException("CUDA: the driver sees no GPU");
        if (ordinal < 0 || ordinal >= out[0]) throw new LongbowException("CUDA: no GPU " + ordinal + " (the driver sees " + out[0] + ")");
        check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet");
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        makeCurrent();
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
        long[] total = new long[1];
        check(JCudaDriver.cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
        int end = 0;
        while (end < name.length && name[end] != 0) end++;
        info = new DeviceInfo(ordinal, new String(name, 0, end, StandardCharsets.UTF_8), attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), total[0],
                attribute(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE), attribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH));
    }

    /** The same one-line message as the FFM binding's for a failed call. */
    static void check(int result, String call) {
        if (result == 0) return;
        String[] name = new String[1];
        String errorName = JCudaDriver.cuGetErrorName(result, name) == 0 && name[0] != null ? name[0] : CudaErrors.name(result);
        throw new LongbowException("CUDA " + call + " failed: " + errorName + " (" + result + ")" + CudaErrors.hint(result));
    }

    private int attribute(int attr) {
        int[] out = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(out, attr, device), "cuDeviceGetAttribute(" + attr + ")");
        return out[0];
    }

    private void makeCurrent() {
        if (current.get()) return;
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        current.set(true);
    }

    // ---- addresses and JCuda's objects ----

    private static final Field NATIVE_POINTER;

    static {
        try {
            NATIVE_POINTER = NativePointerObject.class.getDeclaredField("nativePointer");
            NATIVE_POINTER.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new ExceptionInInitializerError("JCuda's NativePointerObject has no nativePointer field to read: " + e);
        }
    }

    /** The driver's address behind a JCuda object (a handle, or a pointer the driver filled in). */
    static long address(NativePointerObject o) {
        try {
            return NATIVE_POINTER.getLong(o);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    private long remember(NativePointerObject o) {
        long a = address(o);
        handles.put(a, o);
        return a;
    }

    @SuppressWarnings("unchecked")
    private <T extends NativePointerObject> T handle(long address, Class<T> type, String what) {
        NativePointerObject o = handles.get(address);
        if (!type.isInstance(o)) throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is no " + what + " of this driver");
        return (T) o;
    }

    /** Stream 0 is the legacy default stream, as in the driver API. */
    private CUstream stream(long address) {
        return address == 0 ? new CUstream() : handle(address, CUstream.class, "stream");
    }

    /** The device pointer at {@code address}: an allocation of this driver, moved to the address. */
    CUdeviceptr devicePointer(long address) {
        if (address == 0) return new CUdeviceptr();
        synchronized (allocations) {
            Map.Entry<Long, CUdeviceptr> base = allocations.floorEntry(address);
            if (base == null) throw new IllegalArgumentException("0x" + Long.toHexString(address) + " is not in a device allocation of this driver");
            return address == base.getKey() ? base.getValue() : base.getValue().withByteOffset(address - base.getKey());
        }
    }

    /** Host memory as JCuda takes it: a direct ByteBuffer over the native segment. */
    private static Pointer host(MemorySegment s, long bytes) {
        return Pointer.to(s.asSlice(0, bytes).asByteBuffer());
    }

    // ---- GpuDriver ----

    @Override
    public String description() {
        String version = JCudaDriver.class.getPackage().getImplementationVersion();
        return "jcuda (JCuda" + (version == null ? "" : " " + version) + ", driver API " + driverVersion / 1000 + "." + driverVersion % 1000 / 10 + ")";
    }

    @Override
    public DeviceInfo device() {
        return info;
    }

    @Override
    public long loadModule(byte[] image) {
        makeCurrent();
        CUmodule module = new CUmodule();
        // cuModuleLoadData reads the image as a C string of bytes; a trailing zero keeps a PTX image terminated.
        check(JCudaDriver.cuModuleLoadData(module, java.util.Arrays.copyOf(image, image.length + 1)), "cuModuleLoadData");
        return remember(module);
    }

    @Override
    public long function(long module, String name) {
        makeCurrent();
        CUfunction f = new CUfunction();
        check(JCudaDriver.cuModuleGetFunction(f, handle(module, CUmodule.class, "module"), name), "cuModuleGetFunction(" + name + ")");
        return remember(f);
    }

    @Override
    public FunctionInfo functionInfo(long function, String name) {
        makeCurrent();
        CUfunction f = handle(function, CUfunction.class, "function");
        return new FunctionInfo(name, funcAttribute(f, CU_FUNC_ATTRIBUTE_NUM_REGS), funcAttribute(f, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES),
                funcAttribute(f, CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES), funcAttribute(f, CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK));
    }

    private static int funcAttribute(CUfunction f, int attr) {
        int[] out = new int[1];
        check(JCudaDriver.cuFuncGetAttribute(out, attr, f), "cuFuncGetAttribute");
        return out[0];
    }

    /**
     * kernelParams is an array of one pointer, to the parameter struct the kernel takes by value (the driver copies
     * it during the call). {@code extra} (CU_LAUNCH_PARAM_BUFFER_POINTER) would take the block directly, but JCuda
     * passes {@code extra} as an array of pointers too, with the size as a pointer to a size_t; one pointer is simpler.
     */
    @Override
    public synchronized void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                                    long stream, MemorySegment params) {
        makeCurrent();
        if (params != lastParams) {
            lastKernelParams = Pointer.to(Pointer.to(params.asByteBuffer()));
            lastParams = params;
        }
        check(JCudaDriver.cuLaunchKernel(handle(function, CUfunction.class, "function"), gridX, gridY, gridZ, blockX, blockY, blockZ,
                sharedBytes, stream(stream), lastKernelParams, null), "cuLaunchKernel");
    }

    @Override
    public long malloc(long bytes) {
        makeCurrent();
        CUdeviceptr p = new CUdeviceptr();
        check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + " bytes)");
        long a = address(p);
        synchronized (allocations) {
            allocations.put(a, p);
        }
        return a;
    }

    @Override
    public void free(long pointer) {
        makeCurrent();
        CUdeviceptr p;
        synchronized (allocations) {
            p = allocations.remove(pointer);
        }
        if (p == null) throw new IllegalArgumentException("0x" + Long.toHexString(pointer) + " is not a device allocation of this driver");
        check(JCudaDriver.cuMemFree(p), "cuMemFree");
    }

    @Override
    public MemorySegment mallocHost(long bytes) {
        makeCurrent();
        Pointer p = new Pointer();
        check(JCudaDriver.cuMemAllocHost(p, bytes), "cuMemAllocHost(" + bytes + " bytes)");
        long a = address(p);
        pinned.put(a, p);
        return MemorySegment.ofAddress(a).reinterpret(bytes);
    }

    @Override
    public void freeHost(MemorySegment host) {
        makeCurrent();
        Pointer p = pinned.remove(host.address());
        if (p == null) throw new IllegalArgumentException("not page-locked memory of this driver");
        check(JCudaDriver.cuMemFreeHost(p), "cuMemFreeHost");
    }

    @Override
    public void copyToDevice(long dst, MemorySegment src, long bytes, long stream) {
        makeCurrent();
        if (src.isNative()) {
            check(JCudaDriver.cuMemcpyHtoDAsync(devicePointer(dst), host(src, bytes), bytes, stream(stream)), "cuMemcpyHtoDAsync");
            return;
        }
        // A heap segment can move under an asynchronous copy: through native memory, and finished before it returns.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(Math.max(1, bytes), 16);
            MemorySegment.copy(src, 0, tmp, 0, bytes);
            check(JCudaDriver.cuMemcpyHtoDAsync(devicePointer(dst), host(tmp, bytes), bytes, stream(stream)), "cuMemcpyHtoDAsync");
            synchronize(stream);
        }
    }

    @Override
    public void copyToHost(MemorySegment dst, long src, long bytes, long stream) {
        makeCurrent();
        if (dst.isNative()) {
            check(JCudaDriver.cuMemcpyDtoHAsync(host(dst, bytes), devicePointer(src), bytes, stream(stream)), "cuMemcpyDtoHAsync");
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment tmp = a.allocate(Math.max(1, bytes), 16);
            check(JCudaDriver.cuMemcpyDtoHAsync(host(tmp, bytes), devicePointer(src), bytes, stream(stream)), "cuMemcpyDtoHAsync");
            synchronize(stream);
            MemorySegment.copy(tmp, 0, dst, 0, bytes);
        }
    }

    @Override
    public void copyDeviceToDevice(long dst, long src, long bytes, long stream) {
        makeCurrent();
        check(JCudaDriver.cuMemcpyDtoDAsync(devicePointer(dst), devicePointer(src), bytes, stream(stream)), "cuMemcpyDtoDAsync");
    }

    @Override
    public void memset(long dst, byte value, long bytes, long stream) {
        makeCurrent();
        check(JCudaDriver.cuMemsetD8Async(devicePointer(dst), value, bytes, stream(stream)), "cuMemsetD8Async");
    }

    @Override
    public long[] memoryInfo() {
        makeCurrent();
        long[] free = new long[1], total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[]{free[0], total[0]};
    }

    @Override
    public long createStream() {
        makeCurrent();
        CUstream s = new CUstream();
        check(JCudaDriver.cuStreamCreate(s, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        return remember(s);
    }

    @Override
    public void synchronize(long stream) {
        makeCurrent();
        check(JCudaDriver.cuStreamSynchronize(stream(stream)), "cuStreamSynchronize");
    }

    @Override
    public void destroyStream(long stream) {
        makeCurrent();
        check(JCudaDriver.cuStreamDestroy(stream(stream)), "cuStreamDestroy");
        handles.remove(stream);
    }

    @Override
    public long createEvent() {
        makeCurrent();
        CUevent e = new CUevent();
        check(JCudaDriver.cuEventCreate(e, 0), "cuEventCreate");
        return remember(e);
    }

    @Override
    public void record(long event, long stream) {
        makeCurrent();
        check(JCudaDriver.cuEventRecord(handle(event, CUevent.class, "event"), stream(stream)), "cuEventRecord");
    }

    @Override
    public float elapsedMillis(long start, long end) {
        makeCurrent();
        CUevent e = handle(end, CUevent.class, "event");
        check(JCudaDriver.cuEventSynchronize(e), "cuEventSynchronize");
        float[] ms = new float[1];
        check(JCudaDriver.cuEventElapsedTime(ms, handle(start, CUevent.class, "event"), e), "cuEventElapsedTime");
        return ms[0];
    }

    @Override
    public void destroyEvent(long event) {
        makeCurrent();
        check(JCudaDriver.cuEventDestroy(handle(event, CUevent.class, "event")), "cuEventDestroy");
        handles.remove(event);
    }

    @Override
    public void beginCapture(long stream) {
        makeCurrent();
        check(JCudaDriver.cuStreamBeginCapture(stream(stream), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture");
    }

    @Override
    public long endCapture(long stream) {
        makeCurrent();
        CUgraph graph = new CUgraph();
        check(JCudaDriver.cuStreamEndCapture(stream(stream), graph), "cuStreamEndCapture");
        try {
            CUgraphExec exec = new CUgraphExec();
            check(JCudaDriver.cuGraphInstantiate(exec, graph, 0L), "cuGraphInstantiate");
            return remember(exec);
        } finally {
            // The executable graph is independent of the graph it was made from.
            check(JCudaDriver.cuGraphDestroy(graph), "cuGraphDestroy");
        }
    }

    @Override
    public void launchGraph(long graphExec, long stream) {
        makeCurrent();
        check(JCudaDriver.cuGraphLaunch(handle(graphExec, CUgraphExec.class, "graph"), stream(stream)), "cuGraphLaunch");
    }

    @Override
    public void destroyGraph(long graphExec) {
        makeCurrent();
        check(JCudaDriver.cuGraphExecDestroy(handle(graphExec, CUgraphExec.class, "graph")), "cuGraphExecDestroy");
        handles.remove(graphExec);
    }

    @Override
    public synchronized void close() {
        makeCurrent();
        check(JCudaDriver.cuCtxSynchronize(), "cuCtxSynchronize");
        check(JCudaDriver.cuDevicePrimaryCtxRelease(device), "cuDevicePrimaryCtxRelease");
    }
}
