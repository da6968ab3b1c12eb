// Prefill's matrix product on tensor cores: C[m][n] = sum_k A[m][k] B[n][k] (+ bias[n]), A the F16 activations
// (tokens x features), B the F16 weights in their stored layout (out x in), F32 accumulation and output.
// gemm_tiles.cuh's k loop (128x128 tiles 32 halves deep, 8 warps of 64x32, ldmatrix, 3-stage cp.async, swizzled
// shared memory) with mma.sync m16n8k16. K must be a multiple of 32 (the host falls back to the GEMV kernel
// otherwise); M and N are free.
#include "gemm_tiles.cuh"

struct GemmParams {
    const __half* a;     // [m][k]
    const __half* b;     // [n][k]
    float* c;            // [m][ldc]
    const float* bias;   // [n] or null
    int m, n, k, ldc;
};
static_assert(sizeof(GemmParams) == 48, "GemmParams layout is mirrored in Java");

namespace gemm_detail {
struct MmaF16 {
    __device__ __forceinline__ void operator()(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) const {
        lb::mma_16816(d, a, b0, b1);
    }
};
}  // namespace gemm_detail

struct StoreF32 {
    const GemmParams& p;
    __device__ __forceinline__ void operator()(int row, int col, float sum) const {
        p.c[(size_t)row * p.ldc + col] = sum + (p.bias ? p.bias[col] : 0.f);
    }
};

// grid (ceil(n / 128), ceil(m / 128)), block 256.
LB_EXTERN void __launch_bounds__(lb_gemm::THREADS) gemm_f16_tn(const GemmParams p) {
    using namespace lb_gemm;
    __shared__ __align__(128) uint8_t sa[STAGES][BM * ROW_BYTES];
    __shared__ __align__(128) uint8_t sb[STAGES][BN * ROW_BYTES];
    int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    float acc[4][4][4];
    zero(acc);
    mainloop(p.a, p.b, p.m, p.n, p.k, m0, n0, sa, sb, acc, gemm_detail::MmaF16{});
    epilogue(p.m, p.n, m0, n0, acc, StoreF32{p});
}
