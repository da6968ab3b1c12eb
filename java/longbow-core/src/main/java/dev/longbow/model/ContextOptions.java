package dev.longbow.model;

import dev.longbow.LongbowException;
import dev.longbow.backend.KvType;
import dev.longbow.backend.SparseAttention;
import dev.longbow.backend.SparsePattern;

/**
 * How a model runs at long context, on top of what its file says.
 *
 * @param rope                 overrides of the model's RoPE scaling (empty: the model's own)
 * @param attentionTemperature softmax temperature: NaN = the scaling method's own (elastic's 1 + 0.1 ln(l/L)), else fixed (1 = none)
 * @param attentionWindow      keys a query sees at most, itself included (0 = the model's own sliding window, or all)
 * @param attentionSinks       first tokens every query also sees (StreamingLLM's attention sinks); with a window,
 *                             a sequence runs past the context with the cache bounded by sinks + window
 * @param kvType               storage of the KV cache (F32, F16, or Q8: int8 with a float scale per position and head)
 * @param prefillChunk         prompt tokens run through the model at once
 * @param sparse               block-sparse attention: pattern, block size, local/global blocks, LSH buckets and rounds
 */
public record ContextOptions(RopeOverride rope, float attentionTemperature, int attentionWindow, int attentionSinks,
                             KvType kvType, int prefillChunk, SparseAttention sparse) {
    public static final int DEFAULT_PREFILL_CHUNK = 64;
    public static final ContextOptions DEFAULT = new ContextOptions(RopeOverride.NONE, Float.NaN, 0, 0, KvType.F32, DEFAULT_PREFILL_CHUNK, SparseAttention.NONE);

    public ContextOptions {
        if (rope == null) rope = RopeOverride.NONE;
        if (kvType == null) kvType = KvType.F32;
        if (sparse == null) sparse = SparseAttention.NONE;
        if (!Float.isNaN(attentionTemperature) && (!(attentionTemperature > 0) || Float.isInfinite(attentionTemperature))) {
            throw new LongbowException("attention temperature must be a positive number, got " + attentionTemperature);
        }
        if (attentionWindow < 0) throw new LongbowException("attention window must be >= 0, got " + attentionWindow);
        if (attentionSinks < 0) throw new LongbowException("attention sinks must be >= 0, got " + attentionSinks);
        if (prefillChunk < 1) throw new LongbowException("prefill chunk must be >= 1, got " + prefillChunk);
    }

    public ContextOptions withRope(RopeOverride r) {
        return new ContextOptions(r, attentionTemperature, attentionWindow, attentionSinks, kvType, prefillChunk, sparse);
    }

    public ContextOptions withAttentionTemperature(float t) {
        return new ContextOptions(rope, t, attentionWindow, attentionSinks, kvType, prefillChunk, sparse);
    }

    public ContextOptions withWindow(int window, int sinks) {
        return new ContextOptions(rope, attentionTemperature, window, sinks, kvType, prefillChunk, sparse);
    }

    public ContextOptions withKvType(KvType t) {
        return new ContextOptions(rope, attentionTemperature, attentionWindow, attentionSinks, t, prefillChunk, sparse);
    }

    public ContextOptions withPrefillChunk(int n) {
        return new ContextOptions(rope, attentionTemperature, attentionWindow, attentionSinks, kvType, n, sparse);
    }

    public ContextOptions withSparse(SparseAttention s) {
        return new ContextOptions(rope, attentionTemperature, attentionWindow, attentionSinks, kvType, prefillChunk, s);
    }

    /** The pattern with its default block sizes and hashing. */
    public ContextOptions withSparse(SparsePattern p) {
        return withSparse(SparseAttention.of(p));
    }
}
