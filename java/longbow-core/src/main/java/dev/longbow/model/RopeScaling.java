package dev.longbow.model;

/**
 * Position scaling applied to RoPE's inverse frequencies. {@code NONE} leaves them alone; {@code LINEAR}
 * interpolates positions by {@code factor}; {@code LLAMA3} is Llama 3.1's low/high frequency smoothing
 * (it changes logits at every length, so a Llama 3.1 checkpoint is wrong without it).
 */
public record RopeScaling(Method method, float factor, float lowFreqFactor, float highFreqFactor, int originalContext) {
    public enum Method { NONE, LINEAR, LLAMA3 }

    public static final RopeScaling NONE = new RopeScaling(Method.NONE, 1f, 1f, 1f, 0);

    public RopeScaling {
        if (!(factor > 0) || Float.isInfinite(factor)) throw new dev.longbow.LongbowException("rope scaling factor must be a positive number, got " + factor);
        if (method == Method.LLAMA3 && (!(lowFreqFactor > 0) || !(highFreqFactor > lowFreqFactor) || originalContext <= 0)) {
            throw new dev.longbow.LongbowException("llama3 rope scaling needs 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0");
        }
    }

    /** theta_i = base^(-2i/d), computed in float as llama2.c and transformers do, then scaled. */
    public float[] inverseFrequencies(int rotaryDim, float base) {
        float[] inv = new float[rotaryDim / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0f / (float) Math.pow(base, (2 * i) / (float) rotaryDim);
        }
        switch (method) {
            case NONE -> { }
            case LINEAR -> {
                for (int i = 0; i < inv.length; i++) inv[i] /= factor;
            }
            case LLAMA3 -> {
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
            }
        }
        return inv;
    }
}
