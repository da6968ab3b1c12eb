// Greedy sampling on the device: the index of the largest logit (the lowest index among equals, as the CPU sampler),
// so decode copies back 4 bytes instead of the whole vocabulary.
#include "common.cuh"

struct ArgmaxParams {
    const float* logits;  // [rows][vocab]
    int* out;             // [rows]
    int rows, vocab;
};
static_assert(sizeof(ArgmaxParams) == 24, "ArgmaxParams layout is mirrored in Java");

__device__ __forceinline__ void better(float& v, int& i, float ov, int oi) {
    // NaN never wins; ties go to the lower index.
    if (ov > v || (ov == v && oi < i) || (v != v && ov == ov)) { v = ov; i = oi; }
}

// grid (rows), block 1024.
LB_EXTERN void __launch_bounds__(1024) argmax(const ArgmaxParams p) {
    __shared__ float sv[32];
    __shared__ int si[32];
    const float* row = p.logits + (size_t)blockIdx.x * p.vocab;
    float v = -INFINITY;
    int idx = 0x7fffffff;
    for (int i = threadIdx.x; i < p.vocab; i += blockDim.x) better(v, idx, row[i], i);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oi = __shfl_xor_sync(0xffffffffu, idx, o);
        better(v, idx, ov, oi);
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) { sv[warp] = v; si[warp] = idx; }
    __syncthreads();
    if (warp == 0) {
        int warps = blockDim.x >> 5;
        v = lane < warps ? sv[lane] : -INFINITY;
        idx = lane < warps ? si[lane] : 0x7fffffff;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, v, o);
            int oi = __shfl_xor_sync(0xffffffffu, idx, o);
            better(v, idx, ov, oi);
        }
        if (lane == 0) p.out[blockIdx.x] = idx == 0x7fffffff ? 0 : idx;
    }
}
