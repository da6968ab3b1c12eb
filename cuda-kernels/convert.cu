// F32 -> F16 rounding of activations for the tensor-core kernels (GEMM and prefill attention read F16).
#include "common.cuh"

struct ConvertParams {
    const float* src;
    __half* dst;
    long long count;
};
static_assert(sizeof(ConvertParams) == 24, "ConvertParams layout is mirrored in Java");

LB_EXTERN void __launch_bounds__(256) f32_to_f16(const ConvertParams p) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < p.count; i += (long long)gridDim.x * blockDim.x)
        p.dst[i] = __float2half_rn(p.src[i]);
}
