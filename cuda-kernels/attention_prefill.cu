// FlashAttention-2-style prefill attention over the paged cache: a block takes 64 queries of one head (4 warps of 16),
// walks the visible key tiles (one page each), S = Q K^T and O += P V on tensor cores (mma.sync m16n8k16, ldmatrix;
// V through ldmatrix.trans), the softmax kept online in registers (running max and sum per query row, no score matrix
// in memory). Causal, GQA (head h reads KV head h / (heads / kv_heads)), sliding window; head_dim 64 or 128.
// The next K tile is fetched (cp.async) while the current softmax and P V run.
#include "attention.cuh"

namespace prefill_detail {
constexpr int BQ = 64, BKV = LB_PAGE, WARPS = 4;

// Rows of HD halves in chunks of 16 bytes; chunk c of row r stored at c ^ (r & 7) (within its group of 8), so the 8
// rows of an ldmatrix phase read 8 distinct bank groups.
template <int HD>
__device__ __forceinline__ int swz(int row, int chunk) { return row * HD + ((chunk ^ (row & 7)) << 3); }

template <int HD>
__device__ __forceinline__ void load_rows(__half* dst, const __half* src, int rows_valid) {
    constexpr int CHUNKS = HD / 8;
#pragma unroll
    for (int j = 0; j < BKV * CHUNKS / (WARPS * 32); j++) {
        int i = threadIdx.x + j * WARPS * 32, row = i / CHUNKS, chunk = i % CHUNKS;
        bool ok = row < rows_valid;
        lb::cp_async16(dst + swz<HD>(row, chunk), ok ? src + (size_t)row * HD + chunk * 8 : src, ok);
    }
}

template <int HD>
__device__ __forceinline__ void attention_prefill(const AttentionParams& p) {
    __shared__ __align__(128) __half sq[BQ * HD];
    __shared__ __align__(128) __half sk[BKV * HD];
    __shared__ __align__(128) __half sv[BKV * HD];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int q0 = blockIdx.x * BQ, h = blockIdx.y;
    int kvh = h / (p.heads / p.kv_heads);
    int start_pos = lb_start_pos(p);
    int kv_len = start_pos + p.n;

    // Q tile: rows past n are zeros (and fully masked below).
    {
        constexpr int CHUNKS = HD / 8;
#pragma unroll
        for (int j = 0; j < BQ * CHUNKS / (WARPS * 32); j++) {
            int i = threadIdx.x + j * WARPS * 32, row = i / CHUNKS, chunk = i % CHUNKS;
            bool ok = q0 + row < p.n;
            const __half* src = ok ? p.q_half + (size_t)(q0 + row) * p.q_stride + h * HD + chunk * 8 : p.q_half;
            lb::cp_async16(sq + swz<HD>(row, chunk), src, ok);
        }
    }
    int last_q = min(q0 + BQ, p.n) - 1;
    int first_key = lb_first_key(p, start_pos + q0);
    int last_key = start_pos + last_q;
    int tile0 = first_key / BKV, tile1 = last_key / BKV;

    auto k_src = [&](int tile) { return p.k_pool + lb_page_offset(p, p.block_table[tile], kvh, HD); };
    auto v_src = [&](int tile) { return p.v_pool + lb_page_offset(p, p.block_table[tile], kvh, HD); };
    load_rows<HD>(sk, k_src(tile0), kv_len - tile0 * BKV);
    lb::cp_async_commit();  // groups: Q+K(tile0)

    uint32_t qf[HD / 16][4];
    float o[HD / 8][4];
#pragma unroll
    for (int d = 0; d < HD / 8; d++)
#pragma unroll
        for (int e = 0; e < 4; e++) o[d][e] = 0.f;
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    // The two query rows this thread holds accumulators for (mma C layout: row lane/4 and lane/4 + 8).
    int qrow[2] = {q0 + warp * 16 + (lane >> 2), q0 + warp * 16 + (lane >> 2) + 8};

    for (int tile = tile0; tile <= tile1; tile++) {
        load_rows<HD>(sv, v_src(tile), kv_len - tile * BKV);
        lb::cp_async_commit();  // groups: K(tile), V(tile)
        lb::cp_async_wait<1>();
        __syncthreads();
        if (tile == tile0) {
#pragma unroll
            for (int kk = 0; kk < HD / 16; kk++)
                lb::ldmatrix_x4(qf[kk], sq + swz<HD>(warp * 16 + (lane & 15), kk * 2 + (lane >> 4)));
        }

        float s[BKV / 8][4];
#pragma unroll
        for (int j = 0; j < BKV / 8; j++)
#pragma unroll
            for (int e = 0; e < 4; e++) s[j][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < HD / 16; kk++) {
#pragma unroll
            for (int nj = 0; nj < BKV / 16; nj++) {
                uint32_t r[4];
                int row = nj * 16 + (lane & 7) + ((lane >> 4) << 3);
                lb::ldmatrix_x4(r, sk + swz<HD>(row, kk * 2 + ((lane >> 3) & 1)));
                lb::mma_16816(s[nj * 2], qf[kk], r[0], r[1]);
                lb::mma_16816(s[nj * 2 + 1], qf[kk], r[2], r[3]);
            }
        }
        __syncthreads();  // every warp is done with K(tile): fetch the next one behind the softmax and P V
        if (tile < tile1) {
            load_rows<HD>(sk, k_src(tile + 1), kv_len - (tile + 1) * BKV);
            lb::cp_async_commit();  // groups: V(tile), K(tile+1)
        }

        // Mask and scale, then the online softmax update of each of the thread's two rows.
#pragma unroll
        for (int r = 0; r < 2; r++) {
            int pos = start_pos + qrow[r];
            int lo = lb_first_key(p, pos);
            bool live = qrow[r] < p.n;
            float mx = -INFINITY;
#pragma unroll
            for (int j = 0; j < BKV / 8; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int key = tile * BKV + j * 8 + (lane & 3) * 2 + e;
                    float v = live && key <= pos && key >= lo ? s[j][r * 2 + e] * p.scale_log2 : -INFINITY;
                    s[j][r * 2 + e] = v;
                    mx = fmaxf(mx, v);
                }
            }
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float mnew = fmaxf(m[r], mx);
            // A row that has seen no key yet keeps exponents finite (exp2(-inf - 0) = 0, never NaN).
            float base = mnew == -INFINITY ? 0.f : mnew;
            float alpha = exp2f(m[r] - base);
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < BKV / 8; j++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float pv = exp2f(s[j][r * 2 + e] - base);
                    s[j][r * 2 + e] = pv;
                    sum += pv;
                }
            }
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            l[r] = l[r] * alpha + sum;
            m[r] = mnew;
#pragma unroll
            for (int d = 0; d < HD / 8; d++) {
                o[d][r * 2] *= alpha;
                o[d][r * 2 + 1] *= alpha;
            }
        }

        if (tile < tile1) lb::cp_async_wait<1>();
        else lb::cp_async_wait<0>();
        __syncthreads();  // V(tile) visible to every warp

        // O += P V: the score accumulators are already in the A-fragment layout of the next mma (FA2's register reuse).
#pragma unroll
        for (int kk = 0; kk < BKV / 16; kk++) {
            uint32_t a[4] = {lb::pack_half2(s[2 * kk][0], s[2 * kk][1]), lb::pack_half2(s[2 * kk][2], s[2 * kk][3]),
                             lb::pack_half2(s[2 * kk + 1][0], s[2 * kk + 1][1]), lb::pack_half2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int dj = 0; dj < HD / 16; dj++) {
                uint32_t r[4];
                lb::ldmatrix_x4_trans(r, sv + swz<HD>(kk * 16 + (lane & 15), dj * 2 + (lane >> 4)));
                lb::mma_16816(o[dj * 2], a, r[0], r[1]);
                lb::mma_16816(o[dj * 2 + 1], a, r[2], r[3]);
            }
        }
        __syncthreads();  // every warp is done with V(tile) before the next one lands there
    }

#pragma unroll
    for (int r = 0; r < 2; r++) {
        if (qrow[r] >= p.n) continue;
        float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;
        float* out = p.out + (size_t)qrow[r] * p.out_stride + h * HD;
#pragma unroll
        for (int d = 0; d < HD / 8; d++) {
            int col = d * 8 + (lane & 3) * 2;
            out[col] = o[d][r * 2] * inv;
            out[col + 1] = o[d][r * 2 + 1] * inv;
        }
    }
}
}  // namespace prefill_detail

// grid (ceil(n / 64), heads), block 128.
LB_EXTERN void __launch_bounds__(128) attention_prefill_hd64(const AttentionParams p) { prefill_detail::attention_prefill<64>(p); }
LB_EXTERN void __launch_bounds__(128) attention_prefill_hd128(const AttentionParams p) { prefill_detail::attention_prefill<128>(p); }
