// Writes the new keys and values (F32 activations) into their pages of the F16 paged cache.
#include "attention.cuh"

struct KvStoreParams {
    const float* k;          // [n][k_stride]
    const float* v;          // [n][v_stride]
    __half* k_pool;
    __half* v_pool;
    const int* block_table;
    const int* start_pos_ptr;  // null, or where to read start_pos (CUDA Graph replay)
    int n, kv_heads, head_dim, k_stride;
    int v_stride, start_pos;
};
static_assert(sizeof(KvStoreParams) == 72, "KvStoreParams layout is mirrored in Java");

// grid (n, kv_heads), block head_dim.
LB_EXTERN void __launch_bounds__(256) kv_store(const KvStoreParams p) {
    int t = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
    if (d >= p.head_dim) return;
    int pos = (p.start_pos_ptr ? *p.start_pos_ptr : p.start_pos) + t;
    int page = p.block_table[pos / LB_PAGE];
    size_t at = ((size_t)page * p.kv_heads + h) * LB_PAGE * p.head_dim + (size_t)(pos % LB_PAGE) * p.head_dim + d;
    p.k_pool[at] = __float2half_rn(p.k[(size_t)t * p.k_stride + h * p.head_dim + d]);
    p.v_pool[at] = __float2half_rn(p.v[(size_t)t * p.v_stride + h * p.head_dim + d]);
}
