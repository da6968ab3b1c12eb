package dev.longbow.backend;

import dev.longbow.model.RotaryLayout;

/** Rotary embedding parameters: the inverse frequency of each rotated pair, and which dimensions pair up. */
public record Rope(float[] inverseFrequencies, int headDim, RotaryLayout layout) {}
