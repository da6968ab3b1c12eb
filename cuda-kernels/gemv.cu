// Decode's matrix-vector product: y[t] = W x[t] (+ bias) for up to 8 tokens, W in F16 read once for all of them.
// Bound by the bytes of W: one warp streams a row in 16-byte loads (8 halves a lane), x comes from L1/L2.
#include "common.cuh"

#define LB_GEMV_MAX_TOKENS 8

struct GemvParams {
    const __half* w;     // [rows][cols]
    const float* x;      // [n][x_stride]
    float* y;            // [n][y_stride]
    const float* bias;   // [rows] or null
    int rows, cols, n, x_stride;
    int y_stride, pad;
};
static_assert(sizeof(GemvParams) == 56, "GemvParams layout is mirrored in Java");

// grid (ceil(rows / 8)), block 256: one warp per row.
LB_EXTERN void __launch_bounds__(256, 1) gemv_f16(const GemvParams p) {
    int lane = threadIdx.x & 31;
    int row = blockIdx.x * 8 + (threadIdx.x >> 5);
    if (row >= p.rows) return;
    const __half* w = p.w + (size_t)row * p.cols;
    float acc[LB_GEMV_MAX_TOKENS];
#pragma unroll
    for (int t = 0; t < LB_GEMV_MAX_TOKENS; t++) acc[t] = 0.f;
    // 16-byte loads need rows of W and x 16-byte aligned: cols a multiple of 8 (every real model's widths), x_stride of 4.
    int vec = (p.cols & 7) == 0 && (p.x_stride & 3) == 0 ? p.cols : 0;
    for (int c = lane * 8; c < vec; c += 256) {
        uint4 raw = __ldg(reinterpret_cast<const uint4*>(w + c));
        const __half2* h = reinterpret_cast<const __half2*>(&raw);
        float2 w01 = __half22float2(h[0]), w23 = __half22float2(h[1]), w45 = __half22float2(h[2]), w67 = __half22float2(h[3]);
#pragma unroll
        for (int t = 0; t < LB_GEMV_MAX_TOKENS; t++) {
            if (t < p.n) {
                const float4* x = reinterpret_cast<const float4*>(p.x + (size_t)t * p.x_stride + c);
                float4 a = __ldg(x), b = __ldg(x + 1);
                acc[t] += w01.x * a.x + w01.y * a.y + w23.x * a.z + w23.y * a.w + w45.x * b.x + w45.y * b.y + w67.x * b.z + w67.y * b.w;
            }
        }
    }
    for (int c = vec + lane; c < p.cols; c += 32) {
        float wv = __half2float(w[c]);
#pragma unroll
        for (int t = 0; t < LB_GEMV_MAX_TOKENS; t++)
            if (t < p.n) acc[t] += wv * p.x[(size_t)t * p.x_stride + c];
    }
    float b = p.bias ? p.bias[row] : 0.f;
#pragma unroll
    for (int t = 0; t < LB_GEMV_MAX_TOKENS; t++) {
        if (t < p.n) {
            float s = lb::warp_sum(acc[t]);
            if (lane == 0) p.y[(size_t)t * p.y_stride + row] = s + b;
        }
    }
}
