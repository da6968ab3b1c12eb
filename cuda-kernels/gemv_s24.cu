// 2:4 sparse decode: y[t] = W x[t] (+ bias) for up to 8 tokens with W in Longbow's 2:4 layout (docs/FORMATS.md:
// per row cols/2 kept values, F16 or INT8 with an f32 row scale, and per group of 4 columns a nibble holding the two
// kept positions, lower first, the even group in the low nibble). Decode is bound by the bytes read: 9 bits a
// weight for F16 kept values, 5 for INT8, against 16 for gemv_f16. A warp per row, a group of 4 columns per lane per
// step, so a warp's loads of kept values and index bytes are contiguous; x comes from L1/L2.
// Also the prefill path's widening of a 2:4 matrix to dense F16 for the tensor-core GEMM.
#include "common.cuh"

struct GemvS24Params {
    const void* values;    // [rows][cols / 2] __half or int8_t
    const uint8_t* index;  // [rows][(cols + 7) / 8]
    const float* scale;    // [rows] for INT8 kept values, null for F16
    const float* x;        // [n][x_stride]
    float* y;              // [n][y_stride]
    const float* bias;     // [rows] or null
    int rows, cols, n, x_stride;
    int y_stride, pad;
};
static_assert(sizeof(GemvS24Params) == 72, "GemvS24Params layout is mirrored in Java");

namespace gemv_s24_detail {
__device__ __forceinline__ float kept(const __half* v, int i) { return __half2float(v[i]); }
__device__ __forceinline__ float kept(const int8_t* v, int i) { return (float)v[i]; }

template <typename V>
__device__ __forceinline__ void gemv(const GemvS24Params& p) {
    int lane = threadIdx.x & 31;
    int row = blockIdx.x * 8 + (threadIdx.x >> 5);
    if (row >= p.rows) return;
    const V* v = static_cast<const V*>(p.values) + (size_t)row * (p.cols / 2);
    const uint8_t* ix = p.index + (size_t)row * ((p.cols + 7) / 8);
    float acc[8];
#pragma unroll
    for (int t = 0; t < 8; t++) acc[t] = 0.f;
    for (int g = lane; g < p.cols / 4; g += 32) {
        int nibble = (__ldg(ix + (g >> 1)) >> ((g & 1) * 4)) & 0xF;
        float w0 = kept(v, 2 * g), w1 = kept(v, 2 * g + 1);
        int c0 = 4 * g + (nibble & 3), c1 = 4 * g + (nibble >> 2);
#pragma unroll
        for (int t = 0; t < 8; t++) {
            if (t < p.n) {
                const float* x = p.x + (size_t)t * p.x_stride;
                acc[t] += w0 * __ldg(x + c0) + w1 * __ldg(x + c1);
            }
        }
    }
    float s = p.scale ? p.scale[row] : 1.f, b = p.bias ? p.bias[row] : 0.f;
#pragma unroll
    for (int t = 0; t < 8; t++) {
        if (t < p.n) {
            float sum = lb::warp_sum(acc[t]);
            if (lane == 0) p.y[(size_t)t * p.y_stride + row] = sum * s + b;
        }
    }
}

template <typename V>
__device__ __forceinline__ void widen(const GemvS24Params& p, __half* dst) {
    long long groups = (long long)p.rows * (p.cols / 4);
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < groups; i += (long long)gridDim.x * blockDim.x) {
        int row = (int)(i / (p.cols / 4)), g = (int)(i % (p.cols / 4));
        const V* v = static_cast<const V*>(p.values) + (size_t)row * (p.cols / 2);
        int nibble = (p.index[(size_t)row * ((p.cols + 7) / 8) + (g >> 1)] >> ((g & 1) * 4)) & 0xF;
        float s = p.scale ? p.scale[row] : 1.f;
        __half* out = dst + (size_t)row * p.cols + 4 * g;
#pragma unroll
        for (int c = 0; c < 4; c++) out[c] = __float2half_rn(0.f);
        out[nibble & 3] = __float2half_rn(s * kept(v, 2 * g));
        out[nibble >> 2] = __float2half_rn(s * kept(v, 2 * g + 1));
    }
}
}  // namespace gemv_s24_detail

// grid (ceil(rows / 8)), block 256: one warp per row.
LB_EXTERN void __launch_bounds__(256) gemv_s24_f16(const GemvS24Params p) { gemv_s24_detail::gemv<__half>(p); }
LB_EXTERN void __launch_bounds__(256) gemv_s24_i8(const GemvS24Params p) { gemv_s24_detail::gemv<int8_t>(p); }

// Prefill: the matrix widened to dense F16 rows x cols in y (as __half*), for gemm_f16_tn; x, n, strides unused.
LB_EXTERN void __launch_bounds__(256) widen_s24_f16(const GemvS24Params p) {
    gemv_s24_detail::widen<__half>(p, reinterpret_cast<__half*>(p.y));
}
LB_EXTERN void __launch_bounds__(256) widen_s24_i8(const GemvS24Params p) {
    gemv_s24_detail::widen<int8_t>(p, reinterpret_cast<__half*>(p.y));
}
