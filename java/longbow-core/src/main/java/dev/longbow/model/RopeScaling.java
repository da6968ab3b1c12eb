package dev.longbow.model;

import dev.longbow.LongbowException;

import java.util.Locale;

/**
 * Position scaling applied to RoPE's inverse frequencies, computed as Hugging Face transformers'
 * {@code modeling_rope_utils} does (float32 where it works in float32), plus two methods it lacks.
 *
 * <ul>
 *   <li>{@code NONE}: theta_i = base^(-2i/d).</li>
 *   <li>{@code LINEAR}: position interpolation, every frequency divided by {@code factor}.</li>
 *   <li>{@code NTK}: static NTK-aware scaling, base' = base * factor^(d/(d-2)).</li>
 *   <li>{@code DYNAMIC}: HF's dynamic NTK; the NTK base grows with the current length past {@code originalContext}.</li>
 *   <li>{@code YARN}: blend of interpolated and original frequencies over a linear ramp between the correction
 *       dimensions of {@code betaFast}/{@code betaSlow} rotations, plus an attention factor (mscale).</li>
 *   <li>{@code LLAMA3}: Llama 3.1's low/high frequency smoothing (changes logits at every length).</li>
 *   <li>{@code LONGROPE}: per-pair divisors, {@code longFactor} past {@code originalContext} else {@code shortFactor},
 *       with attention factor sqrt(1 + ln(factor)/ln(originalContext)).</li>
 *   <li>{@code ELASTIC}: NTK factor S = max(1, gamma*(l/L)^k) from the current length l and trained length L, with an
 *       attention temperature 1 + 0.1*ln(l/L) past L.</li>
 * </ul>
 *
 * {@code originalContext} is the length the model was trained at ({@code max_position_embeddings} for HF's dynamic,
 * {@code original_max_position_embeddings} for the others). NaN in {@code attentionFactor} means "derive it";
 * 0 in {@code mscale}/{@code mscaleAllDim} means "not given".
 */
public record RopeScaling(
        Method method,
        float factor,
        int originalContext,
        float lowFreqFactor,
        float highFreqFactor,
        float betaFast,
        float betaSlow,
        boolean truncate,
        float attentionFactor,
        float mscale,
        float mscaleAllDim,
        float[] shortFactor,
        float[] longFactor,
        float elasticGamma,
        float elasticK) {

    public enum Method {
        NONE, LINEAR, NTK, DYNAMIC, YARN, LLAMA3, LONGROPE, ELASTIC;

        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** Methods whose table depends on the current sequence length (LongRoPE: short or long factors). */
        public boolean lengthDependent() {
            return this == DYNAMIC || this == ELASTIC || this == LONGROPE;
        }
    }

    /** Inverse frequency per rotated pair, the factor HF multiplies cos/sin by, and elastic's softmax temperature. */
    public record Table(float[] inverseFrequencies, float attentionFactor, float attentionTemperature) {}

    public static final float DEFAULT_BETA_FAST = 32, DEFAULT_BETA_SLOW = 1;
    public static final float DEFAULT_ELASTIC_GAMMA = 0.5f, DEFAULT_ELASTIC_K = 0.7f;

    public static final RopeScaling NONE = of(Method.NONE, 1, 0);

    public RopeScaling {
        if (method == null) throw new LongbowException("rope scaling method is missing");
        String m = method.key();
        if (!(factor > 0) || Float.isInfinite(factor)) throw new LongbowException(m + " rope scaling factor must be a positive number, got " + factor);
        boolean needsContext = method != Method.NONE && method != Method.LINEAR && method != Method.NTK;
        if (needsContext && originalContext <= 0) {
            throw new LongbowException(m + " rope scaling needs the original (trained) context length > 0, got " + originalContext);
        }
        if (method == Method.LLAMA3 && (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor))) {
            throw new LongbowException("llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor, got " + lowFreqFactor + " and " + highFreqFactor);
        }
        if (method == Method.YARN && (!(betaFast > 0) || !(betaSlow > 0) || Float.isInfinite(betaFast) || Float.isInfinite(betaSlow))) {
            throw new LongbowException("yarn rope scaling needs positive beta_fast and beta_slow, got " + betaFast + " and " + betaSlow);
        }
        if (!Float.isNaN(attentionFactor) && (!(attentionFactor > 0) || Float.isInfinite(attentionFactor))) {
            throw new LongbowException(m + " rope scaling attention factor must be a positive number, got " + attentionFactor);
        }
        if (method == Method.LONGROPE && (shortFactor == null || longFactor == null)) {
            throw new LongbowException("longrope rope scaling needs both short_factor and long_factor lists");
        }
        if (method == Method.ELASTIC && (!(elasticGamma > 0) || !(elasticK > 0) || Float.isInfinite(elasticGamma) || Float.isInfinite(elasticK))) {
            throw new LongbowException("elastic rope scaling needs positive gamma and k, got " + elasticGamma + " and " + elasticK);
        }
    }

    private static RopeScaling of(Method method, float factor, int originalContext) {
        return new RopeScaling(method, factor, originalContext, 1, 1, DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, true,
                Float.NaN, 0, 0, null, null, DEFAULT_ELASTIC_GAMMA, DEFAULT_ELASTIC_K);
    }

    public static RopeScaling linear(float factor) {
        return of(Method.LINEAR, factor, 0);
    }

    public static RopeScaling ntk(float factor) {
        return of(Method.NTK, factor, 0);
    }

    public static RopeScaling dynamic(float factor, int trainedContext) {
        return of(Method.DYNAMIC, factor, trainedContext);
    }

    public static RopeScaling llama3(float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {
        return new RopeScaling(Method.LLAMA3, factor, originalContext, lowFreqFactor, highFreqFactor, DEFAULT_BETA_FAST,
                DEFAULT_BETA_SLOW, true, Float.NaN, 0, 0, null, null, DEFAULT_ELASTIC_GAMMA, DEFAULT_ELASTIC_K);
    }

    /** NaN attentionFactor derives it from factor (and mscale/mscaleAllDim when both are non-zero). */
    public static RopeScaling yarn(float factor, int originalContext, float betaFast, float betaSlow, boolean truncate,
                                   float attentionFactor, float mscale, float mscaleAllDim) {
        return new RopeScaling(Method.YARN, factor, originalContext, 1, 1, betaFast, betaSlow, truncate, attentionFactor,
                mscale, mscaleAllDim, null, null, DEFAULT_ELASTIC_GAMMA, DEFAULT_ELASTIC_K);
    }

    /** {@code factor} is the extended over the original context when the config gives none, as HF defaults it. */
    public static RopeScaling longrope(float[] shortFactor, float[] longFactor, float factor, int originalContext, float attentionFactor) {
        return new RopeScaling(Method.LONGROPE, factor, originalContext, 1, 1, DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, true,
                attentionFactor, 0, 0, shortFactor.clone(), longFactor.clone(), DEFAULT_ELASTIC_GAMMA, DEFAULT_ELASTIC_K);
    }

    public static RopeScaling elastic(float gamma, float k, int trainedContext) {
        return new RopeScaling(Method.ELASTIC, 1, trainedContext, 1, 1, DEFAULT_BETA_FAST, DEFAULT_BETA_SLOW, true,
                Float.NaN, 0, 0, null, null, gamma, k);
    }

    /**
     * The table for a sequence of {@code seqLen} tokens; methods that do not depend on length ignore it, and
     * {@code seqLen <= 0} means "no longer than the trained context".
     */
    public Table table(int rotaryDim, float base, int seqLen) {
        if (rotaryDim < 4 || rotaryDim % 2 != 0) throw new LongbowException("rotary dimension must be even and at least 4, got " + rotaryDim);
        if (!(base > 1) || Float.isInfinite(base)) throw new LongbowException("rope base must be a number > 1, got " + base);
        int pairs = rotaryDim / 2;
        double ntkExponent = rotaryDim / (double) (rotaryDim - 2);
        return switch (method) {
            case NONE -> new Table(plain(rotaryDim, base), 1, 1);
            case LINEAR -> {
                float[] inv = plain(rotaryDim, base);
                for (int i = 0; i < pairs; i++) inv[i] /= factor;
                yield new Table(inv, 1, 1);
            }
            case NTK -> new Table(plain(rotaryDim, base * Math.pow(factor, ntkExponent)), 1, 1);
            case DYNAMIC -> {
                int length = Math.max(seqLen, originalContext);
                double grown = base * Math.pow((double) factor * length / originalContext - (factor - 1.0), ntkExponent);
                yield new Table(plain(rotaryDim, grown), 1, 1);
            }
            case YARN -> yarnTable(rotaryDim, base);
            case LLAMA3 -> new Table(llama3Table(rotaryDim, base), 1, 1);
            case LONGROPE -> longropeTable(rotaryDim, base, seqLen);
            case ELASTIC -> {
                double ratio = seqLen <= 0 ? 1 : seqLen / (double) originalContext;
                double s = Math.max(1, elasticGamma * Math.pow(ratio, elasticK));
                float temperature = ratio > 1 ? (float) (1 + 0.1 * Math.log(ratio)) : 1f;
                yield new Table(plain(rotaryDim, base * Math.pow(s, ntkExponent)), 1, temperature);
            }
        };
    }

    /** theta_i = 1 / base^(2i/d) in float32, as both llama2.c and HF compute it (int arange cast to float). */
    private static float[] plain(int rotaryDim, double base) {
        float[] inv = new float[rotaryDim / 2];
        float b = (float) base;
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0f / (float) Math.pow(b, (2 * i) / (float) rotaryDim);
        }
        return inv;
    }

    private Table yarnTable(int rotaryDim, float base) {
        int pairs = rotaryDim / 2;
        float attention = attentionFactor;
        if (Float.isNaN(attention)) {
            attention = mscale != 0 && mscaleAllDim != 0
                    ? (float) (yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim))
                    : (float) yarnMscale(factor, 1);
        }
        double low = correctionDim(betaFast, rotaryDim, base), high = correctionDim(betaSlow, rotaryDim, base);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, rotaryDim - 1);
        if (low == high) high += 0.001; // HF's guard against a zero-width ramp
        float lowF = (float) low, span = (float) (high - low);
        float[] inv = new float[pairs];
        for (int i = 0; i < pairs; i++) {
            float posFreq = (float) Math.pow(base, (2 * i) / (float) rotaryDim);
            float extrapolated = 1.0f / posFreq;
            float interpolated = 1.0f / (factor * posFreq);
            float ramp = Math.min(1f, Math.max(0f, (i - lowF) / span));
            float keep = 1f - ramp; // weight of the unscaled (extrapolated) frequency
            inv[i] = interpolated * (1f - keep) + extrapolated * keep;
        }
        return new Table(inv, attention, 1);
    }

    /** The pair index whose wavelength fits {@code rotations} turns into the original context. */
    private double correctionDim(double rotations, int rotaryDim, double base) {
        return rotaryDim * Math.log(originalContext / (rotations * 2 * Math.PI)) / (2 * Math.log(base));
    }

    private static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    private float[] llama3Table(int rotaryDim, float base) {
        float[] inv = plain(rotaryDim, base);
        double lowWavelen = originalContext / lowFreqFactor;
        double highWavelen = originalContext / highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen < highWavelen) continue;
            if (wavelen > lowWavelen) {
                inv[i] = inv[i] / factor;
            } else {
                double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                inv[i] = (float) ((1 - smooth) * inv[i] / factor + smooth * inv[i]);
            }
        }
        return inv;
    }

    private Table longropeTable(int rotaryDim, float base, int seqLen) {
        int pairs = rotaryDim / 2;
        if (shortFactor.length != pairs || longFactor.length != pairs) {
            throw new LongbowException("longrope short_factor and long_factor need " + pairs + " values each (rotary dimension "
                    + rotaryDim + "), got " + shortFactor.length + " and " + longFactor.length);
        }
        float[] ext = seqLen > originalContext ? longFactor : shortFactor;
        float[] inv = new float[pairs];
        for (int i = 0; i < pairs; i++) {
            if (!(ext[i] > 0) || Float.isInfinite(ext[i])) throw new LongbowException("longrope factors must be positive numbers, got " + ext[i]);
            inv[i] = 1.0f / (ext[i] * (float) Math.pow(base, (2 * i) / (float) rotaryDim));
        }
        float attention = attentionFactor;
        if (Float.isNaN(attention)) {
            attention = factor <= 1 ? 1f : (float) Math.sqrt(1 + Math.log(factor) / Math.log(originalContext));
        }
        return new Table(inv, attention, 1);
    }
}
