package dev.longbow.engine;

import dev.longbow.LongbowException;

/**
 * How the next token is chosen. Temperature 0 is greedy. Filters apply in llama.cpp's order: penalties, temperature,
 * top-k, top-p, min-p. {@code topK} 0, {@code topP} 1 and {@code minP} 0 disable their filter. The repetition
 * penalty (llama.cpp's) divides the logit of each token among the last {@code repetitionWindow}; OpenAI's presence
 * and frequency penalties subtract {@code presencePenalty} once and {@code frequencyPenalty} per occurrence from the
 * logit of each token generated so far (the prompt's tokens do not count, as in vLLM). {@code logitBias} is added to
 * the logits first, greedy decoding included.
 */
public record SamplerParams(float temperature, int topK, float topP, float minP, float repetitionPenalty,
                            int repetitionWindow, long seed, float presencePenalty, float frequencyPenalty, LogitBias logitBias) {
    public static final SamplerParams GREEDY = new SamplerParams(0f, 0, 1f, 0f, 1f, 64, 0);

    public SamplerParams(float temperature, int topK, float topP, float minP, float repetitionPenalty, int repetitionWindow, long seed) {
        this(temperature, topK, topP, minP, repetitionPenalty, repetitionWindow, seed, 0f, 0f, LogitBias.NONE);
    }

    /** These parameters with OpenAI's presence and frequency penalties. */
    public SamplerParams withPenalties(float presence, float frequency) {
        return new SamplerParams(temperature, topK, topP, minP, repetitionPenalty, repetitionWindow, seed, presence, frequency, logitBias);
    }

    /** These parameters with a logit bias. */
    public SamplerParams withLogitBias(LogitBias bias) {
        return new SamplerParams(temperature, topK, topP, minP, repetitionPenalty, repetitionWindow, seed, presencePenalty, frequencyPenalty, bias);
    }

    public SamplerParams {
        if (logitBias == null) logitBias = LogitBias.NONE;
        if (!(temperature >= 0) || Float.isInfinite(temperature)) throw new LongbowException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new LongbowException("top-k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new LongbowException("top-p must be in (0, 1], got " + topP);
        if (!(minP >= 0 && minP < 1)) throw new LongbowException("min-p must be in [0, 1), got " + minP);
        if (!(repetitionPenalty > 0) || Float.isInfinite(repetitionPenalty)) throw new LongbowException("repetition penalty must be > 0, got " + repetitionPenalty);
        if (repetitionWindow < 0) throw new LongbowException("repetition window must be >= 0, got " + repetitionWindow);
        if (!(presencePenalty >= -2 && presencePenalty <= 2)) throw new LongbowException("presence penalty must be in [-2, 2], got " + presencePenalty);
        if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) throw new LongbowException("frequency penalty must be in [-2, 2], got " + frequencyPenalty);
    }
}
