package dev.longbow.engine;

import dev.longbow.LongbowException;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/** Values added to the logits of chosen tokens before sampling (OpenAI's {@code logit_bias}: -100 bans, +100 forces). */
public record LogitBias(int[] tokens, float[] values) {
    public static final LogitBias NONE = new LogitBias(new int[0], new float[0]);
    public static final float LIMIT = 100f;

    public LogitBias {
        if (tokens.length != values.length) throw new IllegalArgumentException(tokens.length + " tokens, " + values.length + " values");
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0) throw new LongbowException("logit bias for a negative token id " + tokens[i]);
            if (!(values[i] >= -LIMIT && values[i] <= LIMIT)) throw new LongbowException("logit bias must be in [-100, 100], got " + values[i] + " for token " + tokens[i]);
        }
        tokens = tokens.clone();
        values = values.clone();
    }

    /** From token id to bias, in id order. */
    public static LogitBias of(Map<Integer, Float> bias) {
        TreeMap<Integer, Float> sorted = new TreeMap<>(bias);
        int[] t = new int[sorted.size()];
        float[] v = new float[sorted.size()];
        int i = 0;
        for (var e : sorted.entrySet()) {
            t[i] = e.getKey();
            v[i++] = e.getValue();
        }
        return new LogitBias(t, v);
    }

    public int size() {
        return tokens.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LogitBias b && Arrays.equals(tokens, b.tokens) && Arrays.equals(values, b.values);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "LogitBias" + Arrays.toString(tokens) + Arrays.toString(values);
    }
}
