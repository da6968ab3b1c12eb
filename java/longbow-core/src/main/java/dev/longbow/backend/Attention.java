package dev.longbow.backend;

/**
 * Attention shape: query heads share key/value heads in groups (GQA). {@code slidingWindow} > 0 limits each query
 * to that many most recent positions (itself included), as Mistral does.
 */
public record Attention(int heads, int kvHeads, int headDim, int slidingWindow) {}
