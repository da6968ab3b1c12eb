package dev.longbow.backend.cpu;

import dev.longbow.backend.Act;

/** A row-major float matrix on the heap (activations are small; weights and the KV cache are not here). */
record CpuAct(float[] data, int offset, int rows, int cols) implements Act {
    int at(int row) {
        return offset + row * cols;
    }
}
