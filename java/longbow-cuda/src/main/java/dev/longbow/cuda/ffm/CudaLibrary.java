package dev.longbow.cuda.ffm;

import dev.longbow.LongbowException;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;

/** libcuda bound through FFM: one downcall handle per {@link CudaSymbol}, and CUresult checking. */
public final class CudaLibrary {
    public static final String SONAME = "libcuda.so.1";

    private final Map<CudaSymbol, MethodHandle> handles = new EnumMap<>(CudaSymbol.class);
    private final String origin;

    private CudaLibrary(SymbolLookup lookup, String origin) {
        this.origin = origin;
        Linker linker = Linker.nativeLinker();
        for (CudaSymbol s : CudaSymbol.values()) {
            Optional<MemorySegment> address = lookup.find(s.name());
            if (address.isEmpty() && s.fallback() != null) address = lookup.find(s.fallback());
            if (address.isEmpty()) throw new LongbowException(origin + " has no " + s.name() + ": the NVIDIA driver is too old for Longbow's CUDA backend");
            handles.put(s, linker.downcallHandle(address.get(), s.descriptor()));
        }
    }

    /** The system's driver library, found by soname as the dynamic loader finds it. */
    public static CudaLibrary system() {
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(SONAME, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new LongbowException("no NVIDIA driver: " + SONAME + " cannot be loaded (no GPU driver installed on this machine)");
        }
        return new CudaLibrary(lookup, SONAME);
    }

    /** A given library file: the toolkit's stub libcuda.so, whose signatures match the driver's. */
    public static CudaLibrary at(Path library) {
        try {
            return new CudaLibrary(SymbolLookup.libraryLookup(library, Arena.global()), library.toString());
        } catch (IllegalArgumentException e) {
            throw new LongbowException("cannot load " + library + ": " + e.getMessage());
        }
    }

    public String origin() {
        return origin;
    }

    public MethodHandle handle(CudaSymbol s) {
        return handles.get(s);
    }

    /** Throws a one-line LongbowException naming the call and the CUDA error unless {@code result} is CUDA_SUCCESS. */
    public void check(int result, String call) {
        if (result != 0) throw new LongbowException("CUDA " + call + " failed: " + errorName(result) + CudaErrors.hint(result));
    }

    /** The driver's own name for the code (cuGetErrorName), else the table's: a stub library cannot name its errors. */
    public String errorName(int code) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            int r = (int) handle(CudaSymbol.cuGetErrorName).invokeExact(code, out);
            MemorySegment str = out.get(ADDRESS, 0);
            if (r == 0 && !str.equals(MemorySegment.NULL)) {
                return str.reinterpret(256).getString(0) + " (" + code + ")";
            }
        } catch (Throwable t) {
            // Naming the error must not hide it: fall through to the table.
        }
        return CudaErrors.name(code) + " (" + code + ")";
    }
}
