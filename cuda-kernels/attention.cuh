// The parameters shared by the attention kernels (prefill, decode and its reduction, KV store), as flash-attention
// shares one params struct among its forward kernels; and the paged KV cache layout they agree on.
//
// KV cache: a pool of pages of LB_PAGE positions; page p holds, for each KV head, LB_PAGE rows of head_dim halves
// (K at k_pool + (p * kv_heads + h) * LB_PAGE * head_dim, V likewise in v_pool). block_table[i] is the page holding
// positions [i * LB_PAGE, (i + 1) * LB_PAGE) of this sequence and layer. A page is one key tile of the prefill kernel.
#pragma once
#include "common.cuh"

#define LB_PAGE 64

struct AttentionParams {
    const __half* q_half;    // prefill: [n][q_stride] F16 queries, heads of head_dim from column 0
    const float* q;          // decode: [n][q_stride] F32 queries
    const __half* k_pool;
    const __half* v_pool;
    const int* block_table;  // [ceil(positions / LB_PAGE)]
    float* out;              // [n][out_stride]
    float* partial_o;        // decode: [n][heads][splits][head_dim] unnormalised outputs per split
    float* partial_ml;       // decode: [n][heads][splits][2] running max (log2 domain) and sum per split
    const int* start_pos_ptr;  // null, or where to read start_pos (a captured decode graph replays with new positions)
    int n, heads, kv_heads, q_stride;
    int out_stride;
    int start_pos;           // query t is at position start_pos + t and sees keys up to it
    int window;              // > 0: a query sees only the window most recent positions, itself included
    int keys_per_split;      // decode: positions per split, a multiple of LB_PAGE
    int splits;
    float scale_log2;        // log2(e) / (sqrt(head_dim) * temperature)
    int head_dim;            // prefill 64 or 128, decode 8, 16, 32, 64 or 128 (the kernels are compiled per head_dim)
    int pad;
};
static_assert(sizeof(AttentionParams) == 120, "AttentionParams layout is mirrored in Java");

__device__ __forceinline__ int lb_start_pos(const AttentionParams& p) {
    return p.start_pos_ptr ? *p.start_pos_ptr : p.start_pos;
}

// The lowest position query position pos sees.
__device__ __forceinline__ int lb_first_key(const AttentionParams& p, int pos) {
    return p.window > 0 ? max(0, pos - p.window + 1) : 0;
}

__device__ __forceinline__ size_t lb_page_offset(const AttentionParams& p, int page, int kv_head, int head_dim) {
    return ((size_t)page * p.kv_heads + kv_head) * LB_PAGE * head_dim;
}
