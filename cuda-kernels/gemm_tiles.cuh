// The k loop of the tensor-core GEMMs (gemm.cu's F16, gemm_int8.cu's INT8), in bytes: their tiles are the same bytes.
// C[m][n] = sum_k A[m][k] B[n][k], both operands row-major along k. 128x128 block tiles 64 bytes deep (32 halves or 64
// int8), 8 warps of 64x32, a 3-stage cp.async pipeline over k, and ldmatrix feeding one mma per 16x8 tile and 32
// bytes of k: m16n8k16 f16 and m16n8k32 s8 take the same bytes of the same rows in their fragments, so only the mma
// instruction and the accumulator type differ. Shared rows are XOR-swizzled (chunk c of row r goes to c ^ ((r >> 1)
// & 3)) so the 8 rows an ldmatrix phase reads at one logical chunk hit 8 distinct 16-byte bank groups.
#pragma once
#include "common.cuh"

namespace lb_gemm {
constexpr int BM = 128, BN = 128, ROW_BYTES = 64, STAGES = 3, THREADS = 256;

__device__ __forceinline__ int swz(int row, int chunk) { return row * ROW_BYTES + ((chunk ^ ((row >> 1) & 3)) << 4); }

template <typename T>
__device__ __forceinline__ void load_tile(uint8_t* sa, uint8_t* sb, const T* a, const T* b, int m, int n, int k, int m0, int n0, int k0) {
    constexpr int PER_CHUNK = 16 / sizeof(T);
#pragma unroll
    for (int j = 0; j < (BM * ROW_BYTES / 16) / THREADS; j++) {
        int i = threadIdx.x + j * THREADS, row = i >> 2, chunk = i & 3;
        bool ok = m0 + row < m;
        const T* src = ok ? a + (size_t)(m0 + row) * k + k0 + chunk * PER_CHUNK : a;
        lb::cp_async16(sa + swz(row, chunk), src, ok);
    }
#pragma unroll
    for (int j = 0; j < (BN * ROW_BYTES / 16) / THREADS; j++) {
        int i = threadIdx.x + j * THREADS, row = i >> 2, chunk = i & 3;
        bool ok = n0 + row < n;
        const T* src = ok ? b + (size_t)(n0 + row) * k + k0 + chunk * PER_CHUNK : b;
        lb::cp_async16(sb + swz(row, chunk), src, ok);
    }
}

// acc[mi][ni] (the warp's 4 x 4 tiles of 16x8) += A B^T over all of k (a multiple of ROW_BYTES / sizeof(T)), through
// mma(acc tile, A fragment, B fragment registers). The caller owns the shared tiles and writes the accumulators out.
template <typename T, typename Acc, typename Mma>
__device__ __forceinline__ void mainloop(const T* a, const T* b, int m, int n, int k, int m0, int n0,
                                         uint8_t (&sa)[STAGES][BM * ROW_BYTES], uint8_t (&sb)[STAGES][BN * ROW_BYTES],
                                         Acc (&acc)[4][4][4], Mma mma) {
    constexpr int BK = ROW_BYTES / sizeof(T);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int wm = warp >> 2, wn = warp & 3;  // 2 x 4 warps: rows wm*64.., cols wn*32..
    int ktiles = k / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < ktiles) load_tile(sa[s], sb[s], a, b, m, n, k, m0, n0, s * BK);
        lb::cp_async_commit();
    }
    for (int kt = 0; kt < ktiles; kt++) {
        lb::cp_async_wait<STAGES - 2>();
        __syncthreads();
        // The stage refilled here was last read in the previous iteration, which every warp has left (barrier above).
        int next = kt + STAGES - 1;
        if (next < ktiles) load_tile(sa[next % STAGES], sb[next % STAGES], a, b, m, n, k, m0, n0, next * BK);
        lb::cp_async_commit();

        const uint8_t* ta = sa[kt % STAGES];
        const uint8_t* tb = sb[kt % STAGES];
#pragma unroll
        for (int kk = 0; kk < ROW_BYTES / 32; kk++) {
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
                for (int ni = 0; ni < 4; ni++) mma(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
        }
    }
    lb::cp_async_wait<0>();
}
template <typename Acc>
__device__ __forceinline__ void zero(Acc (&acc)[4][4][4]) {
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[i][j][e] = 0;
}

// store(row, col, sum) for each of this thread's accumulators inside the m x n output: an m16n8 tile's thread holds
// rows lane / 4 and lane / 4 + 8, columns 2 * (lane % 4) and the one after.
template <typename Acc, typename Store>
__device__ __forceinline__ void epilogue(int m, int n, int m0, int n0, const Acc (&acc)[4][4][4], Store store) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int wm = warp >> 2, wn = warp & 3;
#pragma unroll
    for (int mi = 0; mi < 4; mi++) {
#pragma unroll
        for (int ni = 0; ni < 4; ni++) {
            int col = n0 + wn * 32 + ni * 8 + (lane & 3) * 2;
#pragma unroll
            for (int half = 0; half < 2; half++) {
                int row = m0 + wm * 64 + mi * 16 + (lane >> 2) + half * 8;
                if (row >= m) continue;
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    if (col + e < n) store(row, col + e, acc[mi][ni][half * 2 + e]);
                }
            }
        }
    }
}
}  // namespace lb_gemm
