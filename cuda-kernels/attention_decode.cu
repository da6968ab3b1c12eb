// Flash-decoding over the paged cache: few queries, many keys, so the keys are split across blocks (split-KV) to fill
// the GPU; each block writes an unnormalised partial output with its running max and sum, and attention_reduce
// combines the splits. Within a block, a group of head_dim/8 lanes takes one key (16-byte loads of K and V), so a warp
// streams 4 (hd 64) or 2 (hd 128) keys at a time.
#include "attention.cuh"

namespace decode_detail {
constexpr int WARPS = 4;

template <int HD>
__device__ __forceinline__ void attention_decode(const AttentionParams& p) {
    constexpr int G = HD / 8;          // lanes per key
    constexpr int KPW = 32 / G;        // keys per warp step
    __shared__ float sm[WARPS * KPW], sl[WARPS * KPW];
    __shared__ float so[WARPS * KPW][HD];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int split = blockIdx.x, h = blockIdx.y, t = blockIdx.z;
    int kvh = h / (p.heads / p.kv_heads);
    int pos = lb_start_pos(p) + t;
    int lo = max(lb_first_key(p, pos), split * p.keys_per_split);
    int hi = min(pos + 1, (split + 1) * p.keys_per_split);
    int sub = lane / G, part = lane % G;  // which key of the warp step, which 8 dimensions

    float q[8];
    {
        const float* qs = p.q + (size_t)t * p.q_stride + h * HD + part * 8;
#pragma unroll
        for (int i = 0; i < 8; i++) q[i] = qs[i] * p.scale_log2;
    }
    float m = -INFINITY, l = 0.f, o[8];
#pragma unroll
    for (int i = 0; i < 8; i++) o[i] = 0.f;

    // The loop runs alike for every lane of a warp (the shuffles below need all of them); a slot past the end idles.
    for (int k0 = lo + warp * KPW; k0 < hi; k0 += WARPS * KPW) {
        int key = k0 + sub;
        bool ok = key < hi;
        uint4 kr = make_uint4(0, 0, 0, 0), vr = make_uint4(0, 0, 0, 0);
        if (ok) {
            size_t at = lb_page_offset(p, p.block_table[key / LB_PAGE], kvh, HD) + (size_t)(key % LB_PAGE) * HD + part * 8;
            kr = *reinterpret_cast<const uint4*>(p.k_pool + at);
            vr = *reinterpret_cast<const uint4*>(p.v_pool + at);
        }
        const __half2* kh = reinterpret_cast<const __half2*>(&kr);
        const __half2* vh = reinterpret_cast<const __half2*>(&vr);
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float2 k2 = __half22float2(kh[i]);
            s += q[2 * i] * k2.x + q[2 * i + 1] * k2.y;
        }
#pragma unroll
        for (int off = G / 2; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
        if (!ok) continue;
        float mnew = fmaxf(m, s);
        float alpha = exp2f(m - mnew), pw = exp2f(s - mnew);
        l = l * alpha + pw;
        m = mnew;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            float2 v2 = __half22float2(vh[i]);
            o[2 * i] = o[2 * i] * alpha + pw * v2.x;
            o[2 * i + 1] = o[2 * i + 1] * alpha + pw * v2.y;
        }
    }
    // Every (warp, key slot) is one partial softmax; combine all of them into this block's split result.
    int slot = warp * KPW + sub;
    if (part == 0) { sm[slot] = m; sl[slot] = l; }
#pragma unroll
    for (int i = 0; i < 8; i++) so[slot][part * 8 + i] = o[i];
    __syncthreads();
    size_t out = ((size_t)t * p.heads + h) * p.splits + split;
    for (int d = threadIdx.x; d < HD; d += blockDim.x) {
        float mx = -INFINITY;
        for (int s = 0; s < WARPS * KPW; s++) mx = fmaxf(mx, sm[s]);
        float base = mx == -INFINITY ? 0.f : mx, sum = 0.f, acc = 0.f;
        for (int s = 0; s < WARPS * KPW; s++) {
            float w = exp2f(sm[s] - base);
            sum += sl[s] * w;
            acc += so[s][d] * w;
        }
        p.partial_o[out * HD + d] = acc;
        if (d == 0) {
            p.partial_ml[out * 2] = mx;
            p.partial_ml[out * 2 + 1] = sum;
        }
    }
}
}  // namespace decode_detail

// grid (splits, heads, n), block 128. Head dims 8, 16 and 32 (small models, e.g. stories260K) run their prefill
// through this kernel too: the tensor-core prefill needs 64 or 128.
LB_EXTERN void __launch_bounds__(128) attention_decode_hd8(const AttentionParams p) { decode_detail::attention_decode<8>(p); }
LB_EXTERN void __launch_bounds__(128) attention_decode_hd16(const AttentionParams p) { decode_detail::attention_decode<16>(p); }
LB_EXTERN void __launch_bounds__(128) attention_decode_hd32(const AttentionParams p) { decode_detail::attention_decode<32>(p); }
LB_EXTERN void __launch_bounds__(128) attention_decode_hd64(const AttentionParams p) { decode_detail::attention_decode<64>(p); }
LB_EXTERN void __launch_bounds__(128) attention_decode_hd128(const AttentionParams p) { decode_detail::attention_decode<128>(p); }

// grid (heads, n), block head_dim: out = sum_s o_s 2^(m_s - M) / sum_s l_s 2^(m_s - M).
LB_EXTERN void __launch_bounds__(256) attention_reduce(const AttentionParams p) {
    int h = blockIdx.x, t = blockIdx.y, d = threadIdx.x, head_dim = p.head_dim;
    if (d >= head_dim) return;
    size_t base = ((size_t)t * p.heads + h) * p.splits;
    float mx = -INFINITY;
    for (int s = 0; s < p.splits; s++) mx = fmaxf(mx, p.partial_ml[(base + s) * 2]);
    float b = mx == -INFINITY ? 0.f : mx, sum = 0.f, acc = 0.f;
    for (int s = 0; s < p.splits; s++) {
        float w = exp2f(p.partial_ml[(base + s) * 2] - b);
        sum += p.partial_ml[(base + s) * 2 + 1] * w;
        acc += p.partial_o[(base + s) * head_dim + d] * w;
    }
    p.out[(size_t)t * p.out_stride + h * head_dim + d] = sum > 0.f ? acc / sum : 0.f;
}
