package dev.longbow.backend.cpu;

import org.junit.jupiter.api.Assumptions;

import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * GGML's own quantization and dot-product functions, called through FFM from the llama.cpp library that the
 * de.kherud:llama test dependency bundles (b4916, built for x86-64 with AVX2 and FMA). Tests use it to hold Longbow's
 * K-quant code to llama.cpp's, function by function; they are skipped where that build does not run.
 */
final class GgmlNative implements AutoCloseable {
    private static final String RESOURCE = "/de/kherud/llama/Linux/x86_64/libjllama.so";
    private static final Linker LINKER = Linker.nativeLinker();
    /** void f(const float * x, void * y, int64_t k) and void f(const void * x, float * y, int64_t k). */
    private static final FunctionDescriptor ROW = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
    /** void ggml_vec_dot_*(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc). */
    private static final FunctionDescriptor DOT = FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);

    private final Arena arena = Arena.ofShared();
    private final SymbolLookup lib;

    private GgmlNative(Path library) {
        lib = SymbolLookup.libraryLookup(library, arena);
    }

    /** Extracts the bundled library into {@code dir} and opens it; skips the calling test where it cannot run. */
    static GgmlNative open(Path dir) throws Throwable {
        String os = System.getProperty("os.name"), arch = System.getProperty("os.arch");
        Assumptions.assumeTrue(os.startsWith("Linux") && (arch.equals("amd64") || arch.equals("x86_64")),
                "the bundled llama.cpp build is for Linux x86-64, not " + os + " " + arch);
        Path so = dir.resolve("libjllama-ggml.so");
        try (InputStream in = GgmlNative.class.getResourceAsStream(RESOURCE)) {
            Assumptions.assumeTrue(in != null, "de.kherud:llama does not bundle " + RESOURCE);
            Files.copy(in, so, StandardCopyOption.REPLACE_EXISTING);
        }
        GgmlNative g = new GgmlNative(so);
        g.handle("ggml_cpu_init", FunctionDescriptor.ofVoid()).invokeExact();
        return g;
    }

    private MethodHandle handle(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(lib.find(name).orElseThrow(() -> new IllegalStateException("no symbol " + name)), d);
    }

    private MemorySegment floats(float[] x) {
        MemorySegment s = arena.allocate(4L * x.length, 64);
        MemorySegment.copy(x, 0, s, ValueLayout.JAVA_FLOAT, 0, x.length);
        return s;
    }

    private MemorySegment bytes(byte[] b) {
        MemorySegment s = arena.allocate(Math.max(1, b.length), 64);
        MemorySegment.copy(b, 0, s, ValueLayout.JAVA_BYTE, 0, b.length);
        return s;
    }

    /** quantize_row_{name}_ref (or, for "q8_K", the CPU backend's quantize_row_q8_K) of x, as bytes. */
    byte[] quantize(String function, float[] x, int bytes) throws Throwable {
        MemorySegment out = arena.allocate(bytes, 64);
        handle(function, ROW).invokeExact(floats(x), out, (long) x.length);
        return out.toArray(ValueLayout.JAVA_BYTE);
    }

    float[] dequantize(String function, byte[] blocks, int n) throws Throwable {
        MemorySegment out = arena.allocate(4L * n, 64);
        handle(function, ROW).invokeExact(bytes(blocks), out, (long) n);
        return out.toArray(ValueLayout.JAVA_FLOAT);
    }

    float dot(String function, int n, byte[] weights, byte[] activations) throws Throwable {
        MemorySegment s = arena.allocate(4, 4);
        handle(function, DOT).invokeExact(n, s, 0L, bytes(weights), 0L, bytes(activations), 0L, 1);
        return s.get(ValueLayout.JAVA_FLOAT, 0);
    }

    @Override
    public void close() {
        arena.close();
    }
}
