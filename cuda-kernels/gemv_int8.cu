// W8A16 decode: y[t] = scale[row] * (W x[t]) (+ bias) for up to 8 tokens, W int8 with one f32 scale per row (the
// I8_ROW layout of docs/FORMATS.md), read once for all tokens: half the bytes of gemv_f16, which is the point, since
// decode is bound by them. One warp streams a row in 16-byte loads (16 weights a lane), x from L1/L2.
#include "common.cuh"

#define LB_GEMV_I8_MAX_TOKENS 8

struct GemvInt8Params {
    const int8_t* w;      // [rows][cols]
    const float* scale;   // [rows]
    const float* x;       // [n][x_stride]
    float* y;             // [n][y_stride]
    const float* bias;    // [rows] or null
    int rows, cols, n, x_stride;
    int y_stride, pad;
};
static_assert(sizeof(GemvInt8Params) == 64, "GemvInt8Params layout is mirrored in Java");

__device__ __forceinline__ float lb_dot4_i8(uint32_t packed, float4 x) {
    return (float)(int8_t)(packed & 0xff) * x.x + (float)(int8_t)((packed >> 8) & 0xff) * x.y
         + (float)(int8_t)((packed >> 16) & 0xff) * x.z + (float)(int8_t)(packed >> 24) * x.w;
}

// grid (ceil(rows / 8)), block 256: one warp per row.
LB_EXTERN void __launch_bounds__(256, 1) gemv_i8_row(const GemvInt8Params p) {
    int lane = threadIdx.x & 31;
    int row = blockIdx.x * 8 + (threadIdx.x >> 5);
    if (row >= p.rows) return;
    const int8_t* w = p.w + (size_t)row * p.cols;
    float acc[LB_GEMV_I8_MAX_TOKENS];
#pragma unroll
    for (int t = 0; t < LB_GEMV_I8_MAX_TOKENS; t++) acc[t] = 0.f;
    // 16-byte loads need rows of W 16-byte aligned and x 16-byte aligned: cols a multiple of 16, x_stride of 4.
    int vec = (p.cols & 15) == 0 && (p.x_stride & 3) == 0 ? p.cols : 0;
    for (int c = lane * 16; c < vec; c += 512) {
        uint4 raw = __ldg(reinterpret_cast<const uint4*>(w + c));
#pragma unroll
        for (int t = 0; t < LB_GEMV_I8_MAX_TOKENS; t++) {
            if (t < p.n) {
                const float4* x = reinterpret_cast<const float4*>(p.x + (size_t)t * p.x_stride + c);
                acc[t] += lb_dot4_i8(raw.x, __ldg(x)) + lb_dot4_i8(raw.y, __ldg(x + 1))
                        + lb_dot4_i8(raw.z, __ldg(x + 2)) + lb_dot4_i8(raw.w, __ldg(x + 3));
            }
        }
    }
    for (int c = vec + lane; c < p.cols; c += 32) {
        float wv = (float)w[c];
#pragma unroll
        for (int t = 0; t < LB_GEMV_I8_MAX_TOKENS; t++)
            if (t < p.n) acc[t] += wv * p.x[(size_t)t * p.x_stride + c];
    }
    float s = p.scale[row], b = p.bias ? p.bias[row] : 0.f;
#pragma unroll
    for (int t = 0; t < LB_GEMV_I8_MAX_TOKENS; t++) {
        if (t < p.n) {
            float sum = lb::warp_sum(acc[t]);
            if (lane == 0) p.y[(size_t)t * p.y_stride + row] = sum * s + b;
        }
    }
}

struct DequantInt8Params {
    const int8_t* w;      // [rows][cols]
    const float* scale;   // [rows]
    __half* dst;          // [rows][cols]
    long long count;      // rows * cols
    int cols, pad;
};
static_assert(sizeof(DequantInt8Params) == 40, "DequantInt8Params layout is mirrored in Java");

// W8A16 prefill: the INT8 matrix widened to F16 (scale * q, rounded once) into a scratch matrix for the tensor-core
// GEMM. Prefill is bound by arithmetic, so one extra pass over the weights costs little; no F16 copy is kept.
LB_EXTERN void __launch_bounds__(256) dequant_i8_row_f16(const DequantInt8Params p) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < p.count; i += (long long)gridDim.x * blockDim.x)
        p.dst[i] = __float2half_rn(p.scale[i / p.cols] * (float)p.w[i]);
}
