// SwiGLU: gate = silu(gate) * up, elementwise over n rows.
#include "common.cuh"

struct SwiGluParams {
    float* gate;      // [count]
    const float* up;  // [count]
    long long count;
};
static_assert(sizeof(SwiGluParams) == 24, "SwiGluParams layout is mirrored in Java");

// grid-stride loop; block 256.
LB_EXTERN void __launch_bounds__(256) swiglu(const SwiGluParams p) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < p.count; i += (long long)gridDim.x * blockDim.x) {
        float g = p.gate[i];
        // As the CPU path: g / (1 + exp(-g)), with expf (the fast __expf is off by 2 ulp).
        p.gate[i] = g / (1.0f + expf(-g)) * p.up[i];
    }
}
