package dev.longbow.api;

/** A text's embedding (the mean of the final-norm hidden states over its tokens, scaled to length 1) and its token count. */
public record Embedding(float[] vector, int tokens) {}
