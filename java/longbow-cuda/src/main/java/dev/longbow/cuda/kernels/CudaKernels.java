package dev.longbow.cuda.kernels;

import dev.longbow.LongbowException;
import dev.longbow.cuda.FunctionInfo;
import dev.longbow.cuda.GpuDriver;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernels of cuda-kernels/, loaded once from the fatbin this jar carries, with their function handles and one
 * parameter block that every launch fills and hands to the driver (which copies it during the launch). Not for
 * concurrent use: one forward pass at a time launches through it.
 */
public final class CudaKernels implements AutoCloseable {
    public static final String RESOURCE = "/dev/longbow/cuda/longbow.fatbin";
    /** Every kernel entry point in the fatbin (the extern "C" names). */
    public static final List<String> NAMES = List.of("embed_f16", "rmsnorm_residual", "rope", "swiglu", "add_f32", "f32_to_f16",
            "gemv_f16", "gemv_i8_row", "dequant_i8_row_f16", "gemv_s24_f16", "gemv_s24_i8", "widen_s24_f16", "widen_s24_i8", "gemm_f16_tn", "gemm_i8_tn", "quantize_rows_i8", "kv_store", "attention_prefill_hd64", "attention_prefill_hd128",
            "attention_decode_hd8", "attention_decode_hd16", "attention_decode_hd32", "attention_decode_hd64",
            "attention_decode_hd128", "attention_reduce", "argmax", "sample_top_k");

    final GpuDriver driver;
    final long embed, rmsnorm, rope, swiglu, add, convert, gemv, gemvInt8, dequantInt8, gemvS24F16, gemvS24I8, widenS24F16, widenS24I8, gemm, gemmInt8, quantizeRows, kvStore, prefill64, prefill128, decode8, decode16, decode32, decode64, decode128, reduce, argmax, sample;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment params = arena.allocate(256, 16);
    private final long module;

    public CudaKernels(GpuDriver driver) {
        this.driver = driver;
        module = driver.loadModule(fatbin());
        embed = driver.function(module, "embed_f16");
        rmsnorm = driver.function(module, "rmsnorm_residual");
        rope = driver.function(module, "rope");
        swiglu = driver.function(module, "swiglu");
        add = driver.function(module, "add_f32");
        convert = driver.function(module, "f32_to_f16");
        gemv = driver.function(module, "gemv_f16");
        gemvInt8 = driver.function(module, "gemv_i8_row");
        dequantInt8 = driver.function(module, "dequant_i8_row_f16");
        gemvS24F16 = driver.function(module, "gemv_s24_f16");
        gemvS24I8 = driver.function(module, "gemv_s24_i8");
        widenS24F16 = driver.function(module, "widen_s24_f16");
        widenS24I8 = driver.function(module, "widen_s24_i8");
        gemm = driver.function(module, "gemm_f16_tn");
        gemmInt8 = driver.function(module, "gemm_i8_tn");
        quantizeRows = driver.function(module, "quantize_rows_i8");
        kvStore = driver.function(module, "kv_store");
        prefill64 = driver.function(module, "attention_prefill_hd64");
        prefill128 = driver.function(module, "attention_prefill_hd128");
        decode8 = driver.function(module, "attention_decode_hd8");
        decode16 = driver.function(module, "attention_decode_hd16");
        decode32 = driver.function(module, "attention_decode_hd32");
        decode64 = driver.function(module, "attention_decode_hd64");
        decode128 = driver.function(module, "attention_decode_hd128");
        reduce = driver.function(module, "attention_reduce");
        argmax = driver.function(module, "argmax");
        sample = driver.function(module, "sample_top_k");
    }

    /** Whether this build carries compiled kernels (it does not when nvcc was missing at build time). */
    public static boolean present() {
        return CudaKernels.class.getResource(RESOURCE) != null;
    }

    public static byte[] fatbin() {
        try (InputStream in = CudaKernels.class.getResourceAsStream(RESOURCE)) {
            if (in == null) throw new LongbowException("this Longbow build has no CUDA kernels (nvcc was not found when it was built; see docs/GPU.md)");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new LongbowException("cannot read the CUDA kernels from the jar: " + e.getMessage());
        }
    }

    public GpuDriver driver() {
        return driver;
    }

    /** The driver's view of every kernel's registers, shared and local memory on this GPU. */
    public List<FunctionInfo> resourceUsage() {
        List<FunctionInfo> out = new ArrayList<>();
        for (String n : NAMES) out.add(driver.functionInfo(driver.function(module, n), n));
        return out;
    }

    /** The parameter block, cleared: a launch fills the fields its struct has and passes it to {@link #launch}. */
    MemorySegment params() {
        params.fill((byte) 0);
        return params;
    }

    void launch(long function, int gx, int gy, int gz, int threads, long stream) {
        driver.launch(function, gx, gy, gz, threads, 1, 1, 0, stream, params);
    }

    static int blocks(long count, int threads, int max) {
        return (int) Math.max(1, Math.min(max, (count + threads - 1) / threads));
    }

    @Override
    public void close() {
        arena.close();
    }
}
