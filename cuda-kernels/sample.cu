// Top-k / top-p / min-p sampling on the device, with the CPU sampler's rules (dev.longbow.engine.Sampler): candidates
// in descending logit order (ties by id), softmax at the temperature over the top k, cut at cumulative top_p, then at
// min_p times the best, then the draw u in [0, 1) scaled to the kept mass. The host draws u from the sequence's
// generator, so the device picks exactly the token the CPU sampler would from the same logits.
#include "common.cuh"

#define LB_SAMPLE_MAX_K 256

struct SampleParams {
    const float* logits;  // [vocab]
    int* out;             // [1]
    int vocab, top_k;     // 1 <= top_k <= LB_SAMPLE_MAX_K
    float temperature, top_p, min_p, u;
};
static_assert(sizeof(SampleParams) == 40, "SampleParams layout is mirrored in Java");

// (v, i) comes before (w, j) in candidate order: larger logit first, lower id among equals.
__device__ __forceinline__ bool before(float v, int i, float w, int j) { return v > w || (v == w && i < j); }

// grid (1), block 1024. The k candidates are found in k passes, each the first element (in candidate order) after
// the previous one: no sort of the vocabulary, k reads of it (from L2 after the first).
LB_EXTERN void __launch_bounds__(1024) sample_top_k(const SampleParams p) {
    __shared__ float cv[LB_SAMPLE_MAX_K], wv[32], probs[LB_SAMPLE_MAX_K];
    __shared__ int ci[LB_SAMPLE_MAX_K], wi[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    float prev_v = INFINITY;
    int prev_i = -1;
    int k = min(p.top_k, p.vocab);
    for (int c = 0; c < k; c++) {
        float bv = -INFINITY;
        int bi = 0x7fffffff;
        for (int i = threadIdx.x; i < p.vocab; i += blockDim.x) {
            float v = p.logits[i];
            // Only elements after the previous candidate; NaN compares false everywhere and is never taken.
            if (before(prev_v, prev_i, v, i) && (bi == 0x7fffffff || before(v, i, bv, bi))) { bv = v; bi = i; }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (oi != 0x7fffffff && (bi == 0x7fffffff || before(ov, oi, bv, bi))) { bv = ov; bi = oi; }
        }
        if (lane == 0) { wv[warp] = bv; wi[warp] = bi; }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < warps; w++)
                if (wi[w] != 0x7fffffff && (bi == 0x7fffffff || before(wv[w], wi[w], bv, bi))) { bv = wv[w]; bi = wi[w]; }
            cv[c] = bv;
            ci[c] = bi;
        }
        __syncthreads();
        prev_v = cv[c];
        prev_i = ci[c];
        if (prev_i == 0x7fffffff) { k = c; break; }  // fewer than k comparable logits (NaNs)
    }
    if (threadIdx.x != 0) return;
    if (k == 0) { *p.out = 0; return; }
    // As the CPU sampler: float logit / temperature - max, exp in double rounded to float, sums in double.
    float mx = cv[0] / p.temperature;
    double sum = 0;
    for (int i = 0; i < k; i++) {
        probs[i] = (float)exp((double)(cv[i] / p.temperature - mx));
        sum += probs[i];
    }
    int keep = k;
    if (p.top_p < 1.f) {
        double cum = 0;
        for (int i = 0; i < keep; i++) {
            cum += probs[i] / sum;
            if (cum >= p.top_p) { keep = i + 1; break; }
        }
    }
    if (p.min_p > 0.f) {
        float threshold = probs[0] * p.min_p;
        int kk = 1;
        while (kk < keep && probs[kk] >= threshold) kk++;
        keep = kk;
    }
    double total = 0;
    for (int i = 0; i < keep; i++) total += probs[i];
    double r = (double)p.u * total, cdf = 0;
    for (int i = 0; i < keep; i++) {
        cdf += probs[i];
        if (r < cdf) { *p.out = ci[i]; return; }
    }
    *p.out = ci[keep - 1];
}
