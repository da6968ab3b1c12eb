// Rotary embedding from a table of inverse frequencies and an attention factor, so every scaling method (linear, NTK,
// dynamic, YaRN, Llama 3, LongRoPE, elastic) is the host's choice of table; both pairings of dimensions.
#include "common.cuh"

struct RopeParams {
    float* x;               // [n][row_stride], heads of head_dim from column 0
    const float* inv_freq;  // [head_dim / 2]
    const int* start_pos_ptr;  // null, or where to read start_pos (a captured graph replays with new positions)
    int n, heads, head_dim, row_stride;
    int start_pos;
    int interleaved;        // 1: pairs (2i, 2i+1); 0: pairs (i, i + head_dim/2)
    float factor;           // cos and sin are multiplied by it (YaRN's / LongRoPE's attention factor)
    int pad;
};
static_assert(sizeof(RopeParams) == 56, "RopeParams layout is mirrored in Java");

// As dev.longbow.backend.Rope.DOUBLE_ANGLE_POSITION: from here on the angle is formed in double.
#define LB_DOUBLE_ANGLE_POSITION 65536

// grid (n, heads), block head_dim / 2: one thread per rotated pair.
LB_EXTERN void __launch_bounds__(128) rope(const RopeParams p) {
    int t = blockIdx.x, h = blockIdx.y, i = threadIdx.x, half = p.head_dim >> 1;
    if (i >= half) return;
    long pos = (long)(p.start_pos_ptr ? *p.start_pos_ptr : p.start_pos) + t;
    float inv = p.inv_freq[i];
    // Float product below the threshold, as run.c forms it and as the CPU path does; sin and cos in double, as Java's Math.
    double angle = pos < LB_DOUBLE_ANGLE_POSITION ? (double)((float)pos * inv) : (double)pos * (double)inv;
    double s, c;
    sincos(angle, &s, &c);
    float cf = (float)c * p.factor, sf = (float)s * p.factor;
    float* head = p.x + (size_t)t * p.row_stride + (size_t)h * p.head_dim;
    int i0 = p.interleaved ? 2 * i : i;
    int i1 = p.interleaved ? i0 + 1 : i0 + half;
    float v0 = head[i0], v1 = head[i1];
    head[i0] = v0 * cf - v1 * sf;
    head[i1] = v0 * sf + v1 * cf;
}
