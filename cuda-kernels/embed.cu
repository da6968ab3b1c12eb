// Embedding gather: out[t] = table[tokens[t]] widened from F16 to F32 (the residual stream stays F32).
#include "common.cuh"

struct EmbedParams {
    const __half* table;  // [vocab][dim]
    const int* tokens;    // [n]
    float* out;           // [n][dim]
    int n, dim, vocab, pad;
};
static_assert(sizeof(EmbedParams) == 40, "EmbedParams layout is mirrored in Java");

// grid (n), block 256. The host checks token ids; an id out of range yields a row of NaNs rather than a wild read.
LB_EXTERN void __launch_bounds__(256) embed_f16(const EmbedParams p) {
    int t = blockIdx.x;
    int tok = p.tokens[t];
    float* dst = p.out + (size_t)t * p.dim;
    bool ok = tok >= 0 && tok < p.vocab;
    const __half* src = p.table + (size_t)(ok ? tok : 0) * p.dim;
    for (int c = threadIdx.x; c < p.dim; c += blockDim.x) dst[c] = ok ? __half2float(src[c]) : __int_as_float(0x7fc00000);
}
