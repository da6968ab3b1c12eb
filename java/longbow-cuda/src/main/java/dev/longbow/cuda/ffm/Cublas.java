package dev.longbow.cuda.ffm;

import dev.longbow.LongbowException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * cuBLAS through FFM, as the alternative GEMM and the peer the kernels are measured against: cublasGemmEx with F16
 * inputs and F32 compute and output, in the primary context the driver binding uses (cuBLAS's runtime picks it up).
 * Found by soname, libcublas.so.13 then .12 (the dynamic loader's search, so LD_LIBRARY_PATH works), then in
 * CUDA_HOME/lib64 and /usr/local/cuda/lib64, or at LONGBOW_CUBLAS. The signatures are cuBLAS's documented ones; the
 * toolkit on the build machine had no cublas_api.h to check them against (docs/GPU.md).
 */
public final class Cublas implements AutoCloseable {
    private static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUDA_R_32F = 0, CUDA_R_16F = 2, CUBLAS_COMPUTE_32F = 68,
            CUBLAS_GEMM_DEFAULT = -1;

    private final String origin;
    private final MethodHandle destroy, setStream, gemmEx, statusName;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle, one, zero;

    private Cublas(SymbolLookup lib, String origin) {
        this.origin = origin;
        Linker l = Linker.nativeLinker();
        MethodHandle create = l.downcallHandle(find(lib, "cublasCreate_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = l.downcallHandle(find(lib, "cublasDestroy_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = l.downcallHandle(find(lib, "cublasSetStream_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        gemmEx = l.downcallHandle(find(lib, "cublasGemmEx"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        statusName = l.downcallHandle(find(lib, "cublasGetStatusName"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MemorySegment out = arena.allocate(ADDRESS);
        try {
            check((int) create.invokeExact(out), "cublasCreate");
        } catch (LongbowException e) {
            arena.close();
            throw e;
        } catch (Throwable t) {
            arena.close();
            throw new LongbowException("cuBLAS cublasCreate failed: " + t);
        }
        handle = out.get(ADDRESS, 0);
        one = arena.allocateFrom(JAVA_FLOAT, 1f);
        zero = arena.allocateFrom(JAVA_FLOAT, 0f);
    }

    private MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new LongbowException(origin + " has no " + name));
    }

    /** Opens cuBLAS (call with the driver's context current on this thread); one line saying why when it cannot. */
    public static Cublas open() {
        List<String> tried = new ArrayList<>();
        String explicit = System.getenv("LONGBOW_CUBLAS");
        if (explicit != null) return new Cublas(lookup(Path.of(explicit)), explicit);
        for (String soname : new String[]{"libcublas.so.13", "libcublas.so.12"}) {
            tried.add(soname);
            try {
                return new Cublas(SymbolLookup.libraryLookup(soname, Arena.global()), soname);
            } catch (IllegalArgumentException e) {
                // Not on the loader's path: try the toolkit folders below.
            }
        }
        String home = System.getenv().getOrDefault("CUDA_HOME", "/usr/local/cuda");
        for (String dir : new String[]{home + "/lib64", "/usr/local/cuda/lib64"}) {
            for (String soname : new String[]{"libcublas.so.13", "libcublas.so.12"}) {
                Path p = Path.of(dir, soname);
                tried.add(p.toString());
                if (Files.isRegularFile(p)) return new Cublas(lookup(p), p.toString());
            }
        }
        throw new LongbowException("no cuBLAS: tried " + String.join(", ", tried) + " (set LONGBOW_CUBLAS to the library file)");
    }

    private static SymbolLookup lookup(Path p) {
        try {
            return SymbolLookup.libraryLookup(p, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new LongbowException("cannot load cuBLAS from " + p + ": " + e.getMessage());
        }
    }

    public String origin() {
        return origin;
    }

    private void check(int status, String call) {
        if (status == 0) return;
        String name;
        try {
            name = ((MemorySegment) statusName.invokeExact(status)).reinterpret(128).getString(0);
        } catch (Throwable t) {
            name = "cublasStatus " + status;
        }
        throw new LongbowException("cuBLAS " + call + " failed: " + name + " (" + status + ")");
    }

    /**
     * The GEMM kernel's contract (gemm_f16_tn without the bias): C[m][n] = A[m][k] B[n][k]^T, row-major, A and B F16,
     * C F32 with rows ldc apart. In cuBLAS's column-major terms that is C^T (n x m) = B^T' A, so B goes first, transposed.
     */
    public void gemm(long stream, long a, long b, long c, int m, int n, int k, int ldc) {
        try {
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "cublasSetStream");
            check((int) gemmEx.invokeExact(handle, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, one, MemorySegment.ofAddress(b), CUDA_R_16F, k,
                    MemorySegment.ofAddress(a), CUDA_R_16F, k, zero, MemorySegment.ofAddress(c), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                    CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
        } catch (LongbowException e) {
            throw e;
        } catch (Throwable t) {
            throw new LongbowException("cuBLAS cublasGemmEx failed: " + t);
        }
    }

    @Override
    public void close() {
        try {
            check((int) destroy.invokeExact(handle), "cublasDestroy");
        } catch (LongbowException e) {
            throw e;
        } catch (Throwable t) {
            throw new LongbowException("cuBLAS cublasDestroy failed: " + t);
        } finally {
            arena.close();
        }
    }
}
