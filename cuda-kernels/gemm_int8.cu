// W8A8 prefill on INT8 tensor cores: C[m][n] = sum_k A[m][k] B[n][k], A the activations quantized to int8 per token
// (quantize_rows_i8 below), B the int8 weights in their stored layout (out x in), int32 accumulation. Epilogue: the
// raw int32 sums (what torch._int_mm returns, for the benchmark), or float a_scale[m] * b_scale[n] * sum (+ bias[n]).
// The tiles are gemm.cu's in bytes: 128x128 block tiles of 64 int8 along k (64 bytes a row, as gemm.cu's 32 halves),
// 8 warps of 64x32, ldmatrix (which moves 16-byte rows whatever the element) feeding mma.sync m16n8k32 s8, whose
// fragments hold the same bytes of the same rows as m16n8k16 f16's; a 3-stage cp.async pipeline and the same XOR
// swizzle. K must be a multiple of 64 (every Llama width); M and N are free.
#include "common.cuh"

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
constexpr int I8_BM = 128, I8_BN = 128, I8_BK = 64, I8_STAGES = 3, I8_THREADS = 256;

// Byte offset of 16-byte chunk c of tile row r: gemm.cu's swizzle, in bytes.
__device__ __forceinline__ int swz_i8(int row, int chunk) { return row * I8_BK + ((chunk ^ ((row >> 1) & 3)) << 4); }

__device__ __forceinline__ void load_tile_i8(int8_t* sa, int8_t* sb, const GemmInt8Params& p, int m0, int n0, int k0) {
#pragma unroll
    for (int j = 0; j < (I8_BM * I8_BK / 16) / I8_THREADS; j++) {
        int i = threadIdx.x + j * I8_THREADS, row = i >> 2, chunk = i & 3;
        bool ok = m0 + row < p.m;
        const int8_t* src = ok ? p.a + (size_t)(m0 + row) * p.k + k0 + chunk * 16 : p.a;
        lb::cp_async16(sa + swz_i8(row, chunk), src, ok);
    }
#pragma unroll
    for (int j = 0; j < (I8_BN * I8_BK / 16) / I8_THREADS; j++) {
        int i = threadIdx.x + j * I8_THREADS, row = i >> 2, chunk = i & 3;
        bool ok = n0 + row < p.n;
        const int8_t* src = ok ? p.b + (size_t)(n0 + row) * p.k + k0 + chunk * 16 : p.b;
        lb::cp_async16(sb + swz_i8(row, chunk), src, ok);
    }
}

// D = A * B + D for one m16n8k32 tile of int8: A row-major 16x32 (4 regs), B column-major 32x8 (2 regs), D int32.
__device__ __forceinline__ void mma_16832_s8(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
}  // namespace gemm_i8_detail

using namespace gemm_i8_detail;

// grid (ceil(n / 128), ceil(m / 128)), block 256.
LB_EXTERN void __launch_bounds__(I8_THREADS) gemm_i8_tn(const GemmInt8Params p) {
    __shared__ __align__(128) int8_t sa[I8_STAGES][I8_BM * I8_BK];
    __shared__ __align__(128) int8_t sb[I8_STAGES][I8_BN * I8_BK];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int wm = warp >> 2, wn = warp & 3;  // 2 x 4 warps: rows wm*64.., cols wn*32..
    int m0 = blockIdx.y * I8_BM, n0 = blockIdx.x * I8_BN;
    int ktiles = p.k / I8_BK;

    int acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0;

#pragma unroll
    for (int s = 0; s < I8_STAGES - 1; s++) {
        if (s < ktiles) load_tile_i8(sa[s], sb[s], p, m0, n0, s * I8_BK);
        lb::cp_async_commit();
    }

    for (int kt = 0; kt < ktiles; kt++) {
        lb::cp_async_wait<I8_STAGES - 2>();
        __syncthreads();
        int next = kt + I8_STAGES - 1;
        if (next < ktiles) load_tile_i8(sa[next % I8_STAGES], sb[next % I8_STAGES], p, m0, n0, next * I8_BK);
        lb::cp_async_commit();

        const int8_t* ta = sa[kt % I8_STAGES];
        const int8_t* tb = sb[kt % I8_STAGES];
#pragma unroll
        for (int kk = 0; kk < I8_BK / 32; kk++) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int mi = 0; mi < 4; mi++) {
                int row = wm * 64 + mi * 16 + (lane & 15);
                lb::ldmatrix_x4(af[mi], ta + swz_i8(row, kk * 2 + (lane >> 4)));
            }
#pragma unroll
            for (int nj = 0; nj < 2; nj++) {
                uint32_t r[4];
                int row = wn * 32 + nj * 16 + (lane & 7) + ((lane >> 4) << 3);
                lb::ldmatrix_x4(r, tb + swz_i8(row, kk * 2 + ((lane >> 3) & 1)));
                bf[nj * 2][0] = r[0];
                bf[nj * 2][1] = r[1];
                bf[nj * 2 + 1][0] = r[2];
                bf[nj * 2 + 1][1] = r[3];
            }
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++) mma_16832_s8(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
        }
    }
    lb::cp_async_wait<0>();

#pragma unroll
    for (int mi = 0; mi < 4; mi++) {
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
            int col = n0 + wn * 32 + ni * 8 + (lane & 3) * 2;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                int row = m0 + wm * 64 + mi * 16 + (lane >> 2) + half * 8;
                if (row >= p.m) continue;
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    if (col + e >= p.n) continue;
                    int sum = acc[mi][ni][half * 2 + e];
                    if (p.a_scale == nullptr) {
                        static_cast<int*>(p.c)[(size_t)row * p.ldc + col + e] = sum;
                    } else {
                        static_cast<float*>(p.c)[(size_t)row * p.ldc + col + e] =
                            (float)sum * (p.a_scale[row] * p.b_scale[col + e]) + (p.bias ? p.bias[col + e] : 0.f);
                    }
                }
            }
        }
    }
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
