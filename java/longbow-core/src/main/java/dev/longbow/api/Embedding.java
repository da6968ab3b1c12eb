package dev.longbow.api;

/**
 * A text's embedding (its final-norm hidden states pooled as {@link EmbedOptions} says: by default the mean, scaled
 * to length 1) and its token count.
 */
public record Embedding(float[] vector, int tokens) {}
