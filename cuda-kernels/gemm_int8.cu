// W8A8 prefill on INT8 tensor cores: C[m][n] = sum_k A[m][k] B[n][k], A the activations quantized to int8 per token
// (quantize_rows_i8 below), B the int8 weights in their stored layout (out x in), int32 accumulation. Epilogue: the
// raw int32 sums (what torch._int_mm returns, for the benchmark), or float a_scale[m] * b_scale[n] * sum (+ bias[n]).
// gemm_tiles.cuh's k loop, shared with gemm.cu (128x128 tiles 64 int8 deep, 8 warps, ldmatrix, 3-stage cp.async),
// with mma.sync m16n8k32 s8. K must be a multiple of 64 (every Llama width); M and N are free.
#include "gemm_tiles.cuh"

struct GemmInt8Params {
    const int8_t* a;        // [m][k]
    const int8_t* b;        // [n][k]
    void* c;                // [m][ldc]: int32 when a_scale is null, else float
    const float* a_scale;   // [m] or null (raw int32 output)
    const float* b_scale;   // [n]
    const float* bias;      // [n] or null
    int m, n, k, ldc;
};
static_assert(sizeof(GemmInt8Params) == 64, "GemmInt8Params layout is mirrored in Java");

namespace gemm_i8_detail {
// D = A * B + D for one m16n8k32 tile of int8: A row-major 16x32 (4 regs), B column-major 32x8 (2 regs), D int32.
struct MmaS8 {
    __device__ __forceinline__ void operator()(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) const {
        asm volatile(
            "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    }
};
}  // namespace gemm_i8_detail

// Raw int32 sums without row scales, else a_scale * b_scale * sum (+ bias) in F32.
struct StoreInt8 {
    const GemmInt8Params& p;
    __device__ __forceinline__ void operator()(int row, int col, int sum) const {
        if (p.a_scale == nullptr) {
            static_cast<int*>(p.c)[(size_t)row * p.ldc + col] = sum;
        } else {
            static_cast<float*>(p.c)[(size_t)row * p.ldc + col] = (float)sum * (p.a_scale[row] * p.b_scale[col]) + (p.bias ? p.bias[col] : 0.f);
        }
    }
};

// grid (ceil(n / 128), ceil(m / 128)), block 256.
LB_EXTERN void __launch_bounds__(lb_gemm::THREADS) gemm_i8_tn(const GemmInt8Params p) {
    using namespace lb_gemm;
    __shared__ __align__(128) uint8_t sa[STAGES][BM * ROW_BYTES];
    __shared__ __align__(128) uint8_t sb[STAGES][BN * ROW_BYTES];
    int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    int acc[4][4][4];
    zero(acc);
    mainloop(p.a, p.b, p.m, p.n, p.k, m0, n0, sa, sb, acc, gemm_i8_detail::MmaS8{});
    epilogue(p.m, p.n, m0, n0, acc, StoreInt8{p});
}

struct QuantizeRowsParams {
    const float* x;   // [rows][cols]
    int8_t* q;        // [rows][cols]
    float* scale;     // [rows]
    int rows, cols;
};
static_assert(sizeof(QuantizeRowsParams) == 32, "QuantizeRowsParams layout is mirrored in Java");

// W8A8's activations: each row to int8 with one scale, amax / 127, round(x / scale) halves away from zero, clamped to
// +-127: the CPU's TokenInt8Activations (CompressedLayout.quantize), so both backends see the same integers.
// grid (rows), block 256.
LB_EXTERN void __launch_bounds__(256) quantize_rows_i8(const QuantizeRowsParams p) {
    __shared__ float scratch[32];
    const float* x = p.x + (size_t)blockIdx.x * p.cols;
    float amax = 0.f;
    for (int i = threadIdx.x; i < p.cols; i += blockDim.x) amax = fmaxf(amax, fabsf(x[i]));
    amax = lb::warp_max(amax);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) scratch[warp] = amax;
    __syncthreads();
    amax = lane < (int)(blockDim.x >> 5) ? scratch[lane] : 0.f;
    amax = lb::warp_max(amax);
    float scale = amax / 127.f;
    if (threadIdx.x == 0) p.scale[blockIdx.x] = scale;
    int8_t* q = p.q + (size_t)blockIdx.x * p.cols;
    for (int i = threadIdx.x; i < p.cols; i += blockDim.x) {
        float v = scale == 0.f ? 0.f : fminf(127.f, fmaxf(-127.f, roundf(__fdiv_rn(x[i], scale))));
        q[i] = (int8_t)v;
    }
}
