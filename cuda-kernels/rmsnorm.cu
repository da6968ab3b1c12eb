// RMSNorm, optionally fused with the residual add that precedes it: x += residual; out = x / rms(x) * weight.
// Fusing saves one read and one write of the residual stream per norm (two per layer).
#include "common.cuh"

struct RmsNormParams {
    float* x;               // [rows][cols], updated in place when residual is set
    const float* residual;  // [rows][cols] or null
    const float* weight;    // [cols]
    float* out;             // [rows][cols] or null
    __half* out_half;       // [rows][cols] or null: the same values rounded to F16, the GEMM's input
    int rows, cols;
    float eps;
    int pad;
};
static_assert(sizeof(RmsNormParams) == 56, "RmsNormParams layout is mirrored in Java");

// grid (rows), block 256.
LB_EXTERN void __launch_bounds__(256) rmsnorm_residual(const RmsNormParams p) {
    __shared__ float scratch[32];
    size_t base = (size_t)blockIdx.x * p.cols;
    float* x = p.x + base;
    float ss = 0.f;
    for (int c = threadIdx.x; c < p.cols; c += blockDim.x) {
        float v = x[c];
        if (p.residual) {
            v += p.residual[base + c];
            x[c] = v;
        }
        ss += v * v;
    }
    ss = lb::block_sum(ss, scratch);
    // As the CPU path: 1 / sqrt(mean + eps), not rsqrtf (whose error is 2 ulp).
    float scale = 1.0f / sqrtf(ss / p.cols + p.eps);
    for (int c = threadIdx.x; c < p.cols; c += blockDim.x) {
        float v = x[c] * scale * p.weight[c];
        if (p.out) p.out[base + c] = v;
        if (p.out_half) p.out_half[base + c] = __float2half_rn(v);
    }
}
