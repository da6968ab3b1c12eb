package dev.longbow.cuda.ffm;

import java.util.Map;

/**
 * Names of the CUresult codes a user is likely to meet, for when the driver cannot name them itself (a stub library,
 * or a failed cuGetErrorName). The values are cuda.h's (CudaHeaderTest checks them against the header).
 */
public final class CudaErrors {
    static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(1, "CUDA_ERROR_INVALID_VALUE"),
            Map.entry(2, "CUDA_ERROR_OUT_OF_MEMORY"),
            Map.entry(3, "CUDA_ERROR_NOT_INITIALIZED"),
            Map.entry(34, "CUDA_ERROR_STUB_LIBRARY"),
            Map.entry(36, "CUDA_ERROR_CALL_REQUIRES_NEWER_DRIVER"),
            Map.entry(46, "CUDA_ERROR_DEVICE_UNAVAILABLE"),
            Map.entry(100, "CUDA_ERROR_NO_DEVICE"),
            Map.entry(101, "CUDA_ERROR_INVALID_DEVICE"),
            Map.entry(200, "CUDA_ERROR_INVALID_IMAGE"),
            Map.entry(201, "CUDA_ERROR_INVALID_CONTEXT"),
            Map.entry(209, "CUDA_ERROR_NO_BINARY_FOR_GPU"),
            Map.entry(218, "CUDA_ERROR_INVALID_PTX"),
            Map.entry(222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"),
            Map.entry(400, "CUDA_ERROR_INVALID_HANDLE"),
            Map.entry(500, "CUDA_ERROR_NOT_FOUND"),
            Map.entry(700, "CUDA_ERROR_ILLEGAL_ADDRESS"),
            Map.entry(701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"),
            Map.entry(719, "CUDA_ERROR_LAUNCH_FAILED"),
            Map.entry(803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"),
            Map.entry(804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"),
            Map.entry(900, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"),
            Map.entry(901, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED"),
            Map.entry(999, "CUDA_ERROR_UNKNOWN"));

    private CudaErrors() {}

    public static String name(int code) {
        String n = NAMES.get(code);
        return n != null ? n : "CUresult " + code;
    }

    /** What the user can do about an error that stops the backend from starting; empty when there is nothing to add. */
    public static String hint(int code) {
        return switch (code) {
            case 34 -> " (the CUDA toolkit's stub libcuda was loaded instead of the driver's)";
            case 803 -> " (the NVIDIA driver is older than this CUDA build needs)";
            case 100 -> " (the driver is installed but sees no GPU)";
            case 209 -> " (the kernels were compiled for sm_80, sm_86, sm_89, sm_90 and compute_80 PTX)";
            default -> "";
        };
    }
}
