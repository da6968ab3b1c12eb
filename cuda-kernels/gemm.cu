// Prefill's matrix product on tensor cores: C[m][n] = sum_k A[m][k] B[n][k] (+ bias[n]), A the F16 activations
// (tokens x features), B the F16 weights in their stored layout (out x in), F32 accumulation and output.
// 128x128x32 block tiles, 8 warps of 64x32, mma.sync m16n8k16 fed by ldmatrix, a 3-stage cp.async pipeline over k,
// shared tiles XOR-swizzled so ldmatrix reads are free of bank conflicts. K must be a multiple of 32 (the host falls
// back to the GEMV kernel otherwise); M and N are free.
#include "common.cuh"

struct GemmParams {
    const __half* a;     // [m][k]
    const __half* b;     // [n][k]
    float* c;            // [m][ldc]
    const float* bias;   // [n] or null
    int m, n, k, ldc;
};
static_assert(sizeof(GemmParams) == 48, "GemmParams layout is mirrored in Java");

namespace gemm_detail {
constexpr int BM = 128, BN = 128, BK = 32, STAGES = 3, THREADS = 256;

// A row of BK = 32 halves is 64 bytes, 4 chunks of 16; two rows share a 128-byte bank line. Chunk c of row r goes to
// c ^ ((r >> 1) & 3), so the 8 rows an ldmatrix phase reads at one logical chunk hit 8 distinct 16-byte bank groups.
__device__ __forceinline__ int swz(int row, int chunk) { return row * BK + ((chunk ^ ((row >> 1) & 3)) << 3); }

__device__ __forceinline__ void load_tile(__half* sa, __half* sb, const GemmParams& p, int m0, int n0, int k0) {
#pragma unroll
    for (int j = 0; j < (BM * BK / 8) / THREADS; j++) {
        int i = threadIdx.x + j * THREADS, row = i >> 2, chunk = i & 3;
        bool ok = m0 + row < p.m;
        const __half* src = ok ? p.a + (size_t)(m0 + row) * p.k + k0 + chunk * 8 : p.a;
        lb::cp_async16(sa + swz(row, chunk), src, ok);
    }
#pragma unroll
    for (int j = 0; j < (BN * BK / 8) / THREADS; j++) {
        int i = threadIdx.x + j * THREADS, row = i >> 2, chunk = i & 3;
        bool ok = n0 + row < p.n;
        const __half* src = ok ? p.b + (size_t)(n0 + row) * p.k + k0 + chunk * 8 : p.b;
        lb::cp_async16(sb + swz(row, chunk), src, ok);
    }
}
}  // namespace gemm_detail
using namespace gemm_detail;

// grid (ceil(n / 128), ceil(m / 128)), block 256.
LB_EXTERN void __launch_bounds__(THREADS) gemm_f16_tn(const GemmParams p) {
    __shared__ __align__(128) __half sa[STAGES][BM * BK];
    __shared__ __align__(128) __half sb[STAGES][BN * BK];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int wm = warp >> 2, wn = warp & 3;  // 2 x 4 warps: rows wm*64.., cols wn*32..
    int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    int ktiles = p.k / BK;

    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0.f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < ktiles) load_tile(sa[s], sb[s], p, m0, n0, s * BK);
        lb::cp_async_commit();
    }

    for (int kt = 0; kt < ktiles; kt++) {
        lb::cp_async_wait<STAGES - 2>();
        __syncthreads();
        // The stage refilled here was last read in the previous iteration, which every warp has left (barrier above).
        int next = kt + STAGES - 1;
        if (next < ktiles) load_tile(sa[next % STAGES], sb[next % STAGES], p, m0, n0, next * BK);
        lb::cp_async_commit();

        const __half* ta = sa[kt % STAGES];
        const __half* tb = sb[kt % STAGES];
#pragma unroll
        for (int kk = 0; kk < BK / 16; kk++) {
            uint32_t af[4][4], bf[4][2];
#pragma unroll
            for (int mi = 0; mi < 4; mi++) {
                int row = wm * 64 + mi * 16 + (lane & 15);
                lb::ldmatrix_x4(af[mi], ta + swz(row, kk * 2 + (lane >> 4)));
            }
#pragma unroll
            for (int nj = 0; nj < 2; nj++) {
                uint32_t r[4];
                int row = wn * 32 + nj * 16 + (lane & 7) + ((lane >> 4) << 3);
                lb::ldmatrix_x4(r, tb + swz(row, kk * 2 + ((lane >> 3) & 1)));
                bf[nj * 2][0] = r[0];
                bf[nj * 2][1] = r[1];
                bf[nj * 2 + 1][0] = r[2];
                bf[nj * 2 + 1][1] = r[3];
            }
#pragma unroll
            for (int mi = 0; mi < 4; mi++)
#pragma unroll
                for (int ni = 0; ni < 4; ni++) lb::mma_16816(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
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
                float* out = p.c + (size_t)row * p.ldc;
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    if (col + e < p.n) out[col + e] = acc[mi][ni][half * 2 + e] + (p.bias ? p.bias[col + e] : 0.f);
                }
            }
        }
    }
}
