// Residual add x += y, for the adds not fused into the following RMSNorm.
#include "common.cuh"

struct AddParams {
    float* x;
    const float* y;
    long long count;
};
static_assert(sizeof(AddParams) == 24, "AddParams layout is mirrored in Java");

LB_EXTERN void __launch_bounds__(256) add_f32(const AddParams p) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < p.count; i += (long long)gridDim.x * blockDim.x)
        p.x[i] += p.y[i];
}
