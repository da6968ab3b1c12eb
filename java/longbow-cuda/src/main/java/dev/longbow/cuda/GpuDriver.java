package dev.longbow.cuda;

import java.lang.foreign.MemorySegment;

/**
 * The part of the CUDA driver API Longbow uses, behind one interface so the bindings (Panama FFM over libcuda, JCuda)
 * run the same kernels and tests. Handles (modules, functions, streams, events, graphs) and device pointers are
 * plain longs: addresses as the driver gives them. Stream 0 is the legacy default stream. Every failed call throws a
 * one-line {@link dev.longbow.LongbowException} naming the call and the CUDA error.
 */
public interface GpuDriver extends AutoCloseable {
    /** Which binding and driver version, for one line of output. */
    String description();

    DeviceInfo device();

    // Modules and launches.
    long loadModule(byte[] image);

    long function(long module, String name);

    FunctionInfo functionInfo(long function, String name);

    /** Launches with one parameter block: kernels take a single struct by value, packed in {@code params}. */
    void launch(long function, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ, int sharedBytes,
                long stream, MemorySegment params);

    // Memory.
    long malloc(long bytes);

    void free(long pointer);

    /** Page-locked host memory (fast, asynchronous copies); freed with {@link #freeHost}. */
    MemorySegment mallocHost(long bytes);

    void freeHost(MemorySegment host);

    void copyToDevice(long dst, MemorySegment src, long bytes, long stream);

    void copyToHost(MemorySegment dst, long src, long bytes, long stream);

    void copyDeviceToDevice(long dst, long src, long bytes, long stream);

    void memset(long dst, byte value, long bytes, long stream);

    /** Free and total device memory, in that order. */
    long[] memoryInfo();

    // Streams, events, graphs.
    long createStream();

    void synchronize(long stream);

    void destroyStream(long stream);

    long createEvent();

    void record(long event, long stream);

    /** Milliseconds between two recorded events, after waiting for the second. */
    float elapsedMillis(long start, long end);

    void destroyEvent(long event);

    /** Starts recording the stream's work into a graph instead of running it. */
    void beginCapture(long stream);

    /** Ends the capture and instantiates the graph; the returned executable graph replays the work. */
    long endCapture(long stream);

    void launchGraph(long graphExec, long stream);

    void destroyGraph(long graphExec);

    @Override
    void close();
}
